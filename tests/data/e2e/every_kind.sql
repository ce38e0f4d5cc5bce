-- With bookings.sql, one message of every kind on 2026-11-23T09:00:00Z:
-- the jobs confirm bookings 1 to 3 and send the pending subscriber an
-- opt-in; the outbox gets a cancelled booking, a cancelled course, a
-- reminder and a weekly digest (period already opened, so the digest
-- job adds nothing).
INSERT INTO subscribers (id, email, name, status, frequency, created_at) VALUES
 (1, 'rhian@example.net', 'Rhian Ôwen', 'active', 'weekly', '2026-01-01T00:00:00Z'),
 (2, 'new@example.net', NULL, 'pending', 'weekly', '2026-11-22T00:00:00Z');
INSERT INTO posts (title, url, author, summary, published_at) VALUES
 ('Chwarae: ten minutes a day', 'https://blog.example.org/posts/play',
  'Sam Evans', '.A summary that starts with a dot, and “quotes”.',
  '2026-11-19T10:00:00Z');
INSERT INTO digests (frequency, period, scheduled_at, since, until,
  post_count, state, created_at) VALUES
 ('weekly', '2026-W48', '2026-11-23T08:00:00Z', '2026-11-16T08:00:00Z',
  '2026-11-23T08:00:00Z', 1, 'enqueued', '2026-11-23T08:00:00Z'),
 ('monthly', '2026-11', '2026-11-01T08:00:00Z', '2026-10-01T08:00:00Z',
  '2026-11-01T08:00:00Z', 0, 'enqueued', '2026-11-01T08:00:00Z');
INSERT INTO messages (dedupe_key, kind, recipient, booking_id, subscriber_id,
  detail, created_at, next_attempt_at, updated_at) VALUES
 ('cancel:booking:4', 'booking_cancelled', 'tom@example.org', 4, NULL, NULL,
  '2026-11-23T09:00:00Z', '2026-11-23T09:00:00Z', '2026-11-23T09:00:00Z'),
 ('cancel:course:4:booking:6', 'course_cancelled', 'tom@example.org', 6, NULL,
  NULL, '2026-11-23T09:00:00Z', '2026-11-23T09:00:00Z', '2026-11-23T09:00:00Z'),
 ('remind:booking:1:1d', 'course_reminder', 'sarah.jones@example.org', 1, NULL,
  '1d', '2026-11-23T09:00:00Z', '2026-11-23T09:00:00Z', '2026-11-23T09:00:00Z'),
 ('digest:weekly:2026-W48:subscriber:1', 'blog_digest', 'rhian@example.net',
  NULL, 1, 'weekly:2026-W48', '2026-11-23T09:00:00Z', '2026-11-23T09:00:00Z',
  '2026-11-23T09:00:00Z');
