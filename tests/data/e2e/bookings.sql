-- Test records: two courses ahead of 2026-11-23, one behind, one
-- cancelled; confirmed and cancelled bookings.
INSERT INTO courses (id, title, starts_at, ends_at, venue, address,
  joining_url, notes, status) VALUES
 (1, 'Nurturing Programme Facilitator Training', '2026-12-03T09:30:00Z',
  '2026-12-03T16:30:00Z', 'Cardiff', 'Temple of Peace, Cathays Park, Cardiff CF10 3AP',
  NULL, 'Bring the course handbook.', 'scheduled'),
 (2, 'Online Refresher', '2026-12-10T13:00:00Z', NULL, 'Online', NULL,
  'https://meet.example.org/refresher', NULL, 'scheduled'),
 (3, 'Last Month''s Course', '2026-10-20T09:00:00Z', NULL, 'Cardiff', 'Cardiff',
  NULL, NULL, 'scheduled'),
 (4, 'Cancelled Course', '2026-12-15T09:00:00Z', NULL, 'Cardiff', 'Cardiff',
  NULL, NULL, 'cancelled');
INSERT INTO delegates (id, email, first_name, last_name, organisation) VALUES
 (1, 'sarah.jones@example.org', 'Sarah', 'Jones', 'Cardiff Family Centre'),
 (2, 'sian.llyr@example.org', 'Siân', 'Llŷr', NULL),
 (3, 'fatima@example.org', 'فاطمة', 'الزهراء', 'Newport Sure Start'),
 (4, 'tom@example.org', 'Tom', 'Baker', NULL),
 (5, 'old@example.org', 'Olive', 'Old', NULL);
INSERT INTO bookings (id, course_id, delegate_id, reference, status, created_at) VALUES
 (1, 1, 1, 'FC-1001', 'confirmed', '2026-11-20T10:00:00Z'),
 (2, 1, 2, 'FC-1002', 'confirmed', '2026-11-20T11:00:00Z'),
 (3, 2, 3, 'FC-1003', 'confirmed', '2026-11-21T09:00:00Z'),
 (4, 2, 4, 'FC-1004', 'cancelled', '2026-11-21T09:30:00Z'),
 (5, 3, 5, 'FC-1005', 'confirmed', '2026-10-01T09:30:00Z'),
 (6, 4, 4, 'FC-1006', 'confirmed', '2026-11-22T09:30:00Z');
