-- Demo records for familymail, as a booking website would write them:
-- courses in London and Cardiff and one online, delegates and their
-- bookings (one cancelled before its confirmation went out), newsletter
-- subscribers (weekly, monthly, one waiting for their confirmation) and
-- three blog posts. Dates are relative to the first run, so the courses
-- are always ahead; INSERT OR IGNORE: a second run leaves them as they
-- are. familymail-schema(5) documents these tables.
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
  'The link opens 15 minutes before the start.'),
 (4, 'Nurturing Programme Taster Day',
  strftime('%Y-%m-%dT10:00:00Z', 'now', '+28 days'),
  strftime('%Y-%m-%dT15:00:00Z', 'now', '+28 days'),
  'Newport', 'Newport Central Library, John Frost Square, Newport NP20 1PA',
  NULL, NULL);
INSERT OR IGNORE INTO delegates (id, email, first_name, last_name, organisation) VALUES
 (1, 'sarah.jones@example.org', 'Sarah', 'Jones', 'Islington Children''s Centre'),
 (2, 'sian.llyr@example.org', 'Siân', 'Llŷr', 'Cardiff Flying Start'),
 (3, 'amira.hassan@example.org', 'Amira', 'Hassan', 'Newport Family Hub'),
 (4, 'tom.baker@example.org', 'Tom', 'Baker', NULL),
 (5, 'priya.shah@example.org', 'Priya', 'Shah', 'Gwent Parenting Service');
INSERT OR IGNORE INTO bookings (id, course_id, delegate_id, reference, status, created_at) VALUES
 (1, 1, 1, 'FL-24001', 'confirmed', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hours')),
 (2, 2, 2, 'FL-24002', 'confirmed', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-50 minutes')),
 (3, 3, 3, 'FL-24003', 'confirmed', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-40 minutes')),
 (4, 2, 4, 'FL-24004', 'cancelled', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 minutes')),
 (5, 4, 5, 'FL-24005', 'confirmed', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-20 minutes'));
INSERT OR IGNORE INTO subscribers (id, email, name, status, frequency, created_at) VALUES
 (1, 'pat.morgan@example.org', 'Pat Morgan', 'active', 'weekly',
  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-90 days')),
 (2, 'lee.evans@example.org', 'Lee Evans', 'active', 'monthly',
  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-60 days')),
 (3, 'jo.price@example.org', 'Jo Price', 'pending', 'weekly',
  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-5 minutes'));
INSERT OR IGNORE INTO posts (id, title, url, author, summary, published_at) VALUES
 (1, 'Bedtime without battles', 'https://blog.example.org/bedtime',
  'Ruth Griffiths', 'Five calm steps from bath to lights out.',
  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-3 minutes')),
 (2, 'When toddlers bite', 'https://blog.example.org/biting',
  'Dafydd Rees', 'Why it happens, and what helps: <em>stay calm</em>, name the feeling.',
  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-2 minutes')),
 (3, 'Screen time in the early years', 'https://blog.example.org/screens',
  'Ruth Griffiths', 'What the evidence says, in plain words.',
  strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 minutes'));
