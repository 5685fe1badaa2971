// A flow's group with active members means a daemon runs the flow: reconciliation and the reverse
// start write what that flow would race (copies, its group's offsets), so they refuse.
import type { FlowConfig } from '../config/index.ts';
import { FlowRunningError } from '../errors/index.ts';
import type { OffsetClients } from './translate.ts';

/** Refuses while the group has active members: a daemon runs the flow and would race us. */
export async function refuseRunning(clients: OffsetClients, flow: FlowConfig): Promise<void> {
  const members = await clients.sourceAdmin.activeMembers(flow.group);
  if (members > 0) throw new FlowRunningError(flow.name, flow.group, members);
}
