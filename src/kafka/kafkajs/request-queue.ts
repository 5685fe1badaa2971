// Replaces, in kafkajs/src/network/requestQueue/index.js, RequestQueue.prototype
// .scheduleCheckPendingRequests (installed by index.ts, the one place that loads kafkajs).
//
// After every response kafkajs schedules a check of its pending requests at `throttledUntil - now`,
// with throttledUntil -1 while no broker throttles: a timer of about -1.8e12 ms. Node 24 warns
// (`TimeoutNegativeWarning`, printed at every start) and runs it after 1 ms, and as the check
// schedules the next one, each connection that has answered once polls every millisecond for as
// long as it lives. A check is only useful while a request waits: held by a broker's throttle
// (until it ends) or by the in-flight limit (kafkajs polls every 10 ms, and a response frees a
// slot anyway). As Kafka's ClusterConnectionStates#pollDelayMs
// (clients/src/main/java/org/apache/kafka/clients/ClusterConnectionStates.java), which waits for
// a throttle only while it lasts, for a node with something to send.
import { kafkajsModule } from './module-cache.ts';

/** kafkajs's interval for requests held by the in-flight limit (CHECK_PENDING_REQUESTS_INTERVAL). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
}

function scheduleCheckPendingRequests(this: RequestQueue): void {
  if (this.throttleCheckTimeoutId !== null || this.pending.length === 0) return;
  const throttledForMs = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledForMs > 0 ? throttledForMs : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
}

export function installRequestQueue(): void {
  const RequestQueue = kafkajsModule<{ prototype: RequestQueue }>('network/requestQueue/index.js');
  Object.defineProperty(RequestQueue.prototype, 'scheduleCheckPendingRequests', {
    configurable: true,
    writable: true,
    value: scheduleCheckPendingRequests,
  });
}
