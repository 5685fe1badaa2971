// `npm run setup`: fetches what real-broker tests need into .cache/ (once; later runs reuse it):
// Apache Kafka jars from Maven Central and toxiproxy-server built with `go install`. Safe to run
// beside tests or the demo doing the same (test/support/kafka/fetch-lock.ts).
import { ensureKafkaRuntime, ensureToxiproxy, kafkaVersionFromEnv, selectBackend } from './kafka/index.ts';

const backend = selectBackend();
if (backend === 'jvm') {
  const started = Date.now();
  const [runtime, toxiproxy] = await Promise.all([
    ensureKafkaRuntime(kafkaVersionFromEnv()),
    ensureToxiproxy(),
  ]);
  process.stdout.write(
    `setup: Apache Kafka ${runtime.version} jars in ${runtime.libDir}\n` +
      `setup: toxiproxy-server at ${toxiproxy}\n` +
      `setup: ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
} else {
  process.stdout.write('setup: testcontainers backend; images are pulled on first use\n');
}
