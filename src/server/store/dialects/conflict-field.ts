/** Names the field a unique violation is about, from SQLite's message or PostgreSQL's constraint name. */
export function conflictFieldFrom(text: string): string {
  if (/instance_flags/.test(text)) return 'setup';
  if (/room_members/.test(text)) return 'member';
  if (/webhooks/.test(text)) return 'name';
  if (/email/.test(text)) return 'email';
  if (/alias/.test(text)) return 'alias';
  return 'id';
}
