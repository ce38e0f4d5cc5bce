-- What the website does next, after the confirmations went out: Siân
-- cancels her booking, the Newport taster day is cancelled, and the
-- London course moves to another room (a change of place: the next mail
-- about it carries the new address). Running it twice changes nothing.
UPDATE bookings SET status = 'cancelled' WHERE reference = 'FL-24002';
UPDATE courses SET status = 'cancelled' WHERE id = 4;
UPDATE courses
   SET address = 'Resource for London, Room 3, 356 Holloway Road, London N7 6PA'
 WHERE id = 1;
