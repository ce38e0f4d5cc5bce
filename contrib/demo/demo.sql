-- Demo records for familymail: courses in London and Cardiff and one
-- online, a few delegates, their bookings (one cancelled). Dates are
-- relative to today, so the courses are always ahead of the demo.
INSERT OR IGNORE INTO courses (id, title, starts_at, ends_at, venue, address, joining_url, notes) VALUES
 (1, 'Nurturing Programme Facilitator Training',
  strftime('%Y-%m-%dT09:30:00Z', 'now', '+14 days'),
  strftime('%Y-%m-%dT16:30:00Z', 'now', '+15 days'),
  'London', 'Resource for London, 356 Holloway Road, London N7 6PA', NULL,
  'Please bring the programme handbook. Lunch is provided on both days.'),
 (2, 'Family Links: Emotional Health in the Early Years',
  strftime('%Y-%m-%dT09:00:00Z', 'now', '+21 days'),
  strftime('%Y-%m-%dT16:00:00Z', 'now', '+21 days'),
  'Cardiff', 'Temple of Peace, King Edward VII Avenue, Cardiff CF10 3AP', NULL,
  'Parking is limited; Cathays station is a five-minute walk.'),
 (3, 'Practitioner Refresher (online)',
  strftime('%Y-%m-%dT13:00:00Z', 'now', '+10 days'),
  strftime('%Y-%m-%dT15:30:00Z', 'now', '+10 days'),
  'Online', NULL, 'https://meet.example.org/refresher',
  'The link opens 15 minutes before the start.');
INSERT OR IGNORE INTO delegates (id, email, first_name, last_name, organisation) VALUES
 (1, 'sarah.jones@example.org', 'Sarah', 'Jones', 'Islington Children''s Centre'),
 (2, 'sian.llyr@example.org', 'Siân', 'Llŷr', 'Cardiff Flying Start'),
 (3, 'amira.hassan@example.org', 'Amira', 'Hassan', 'Newport Family Hub'),
 (4, 'tom.baker@example.org', 'Tom', 'Baker', NULL);
INSERT OR IGNORE INTO bookings (id, course_id, delegate_id, reference, status, created_at) VALUES
 (1, 1, 1, 'FL-24001', 'confirmed', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hours')),
 (2, 2, 2, 'FL-24002', 'confirmed', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-50 minutes')),
 (3, 3, 3, 'FL-24003', 'confirmed', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-40 minutes')),
 (4, 2, 4, 'FL-24004', 'cancelled', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 minutes'));
