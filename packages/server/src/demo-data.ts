import type { PresenceService } from './core/presence-service.js';

export const DEMO_USERS = [
  { user_id: 1, username: 'alice' },
  { user_id: 2, username: 'bob' },
  { user_id: 3, username: 'carol' },
  { user_id: 4, username: 'dave' },
  { user_id: 5, username: 'erin' },
] as const;

export const DEMO_CONVERSATIONS = [
  { conversation_id: 1, participant_ids: [1, 2, 3, 4, 5] },
  { conversation_id: 2, participant_ids: [1, 2] },
] as const;

/** Demo mode's graph: five users, all mutual friends, in one group conversation (and alice and bob in a DM). */
export async function installDemoData(service: PresenceService): Promise<void> {
  for (const { user_id, username } of DEMO_USERS) await service.upsertUser(user_id, username);
  for (const a of DEMO_USERS) {
    for (const b of DEMO_USERS) if (a.user_id !== b.user_id) await service.follow(a.user_id, b.user_id);
  }
  for (const c of DEMO_CONVERSATIONS) await service.setConversation(c.conversation_id, c.participant_ids);
}
