<?php
// SPDX-License-Identifier: GPL-3.0-or-later
//
// A booking website's side of familymail, in PHP with PDO SQLite.
//
// Writes a booking (and its delegate) or a newsletter sign-up into the
// database familymaild reads; the daemon sends the booking confirmation
// or the subscription confirmation within seconds. familymail-schema(5)
// is the contract: the tables, the time format, and how the website's
// account and the daemon's share the database.
//
//     php website.php DB book COURSE_ID EMAIL FIRST_NAME [LAST_NAME]
//     php website.php DB subscribe EMAIL [NAME [weekly|monthly]]
//     php website.php DB cancel REFERENCE
//
// FAMILYMAIL_LANGUAGE in the environment ("cy") is written to the
// language column of the delegate or subscriber when the database has one.

function familymail_connect(string $path): PDO
{
    $db = new PDO('sqlite:' . $path, null, null, [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        // Seconds to wait for the lock while the daemon commits.
        PDO::ATTR_TIMEOUT => 10,
    ]);
    $db->exec('PRAGMA foreign_keys = ON');
    return $db;
}

// The time format of the contract: UTC ISO-8601, 'Z' at the end.
function familymail_now(): string
{
    return gmdate('Y-m-d\TH:i:s\Z');
}

function familymail_has_column(PDO $db, string $table, string $column): bool
{
    foreach ($db->query("PRAGMA table_info($table)") as $row) {
        if ($row['name'] === $column) {
            return true;
        }
    }
    return false;
}

// BEGIN IMMEDIATE takes the write lock at once (PDO's beginTransaction
// would wait until the first write); keep what runs inside it short.
function familymail_write(PDO $db, callable $fn)
{
    $db->exec('BEGIN IMMEDIATE');
    try {
        $result = $fn($db);
        $db->exec('COMMIT');
        return $result;
    } catch (Throwable $e) {
        $db->exec('ROLLBACK');
        throw $e;
    }
}

// Books a place; returns the booking's reference.
function familymail_book(PDO $db, int $course_id, string $email,
    string $first_name, ?string $last_name = null,
    ?string $organisation = null, ?string $language = null): string
{
    $reference = 'WEB-' . strtoupper(bin2hex(random_bytes(4)));
    familymail_write($db, function (PDO $db) use ($course_id, $email,
        $first_name, $last_name, $organisation, $language, $reference) {
        $db->prepare('INSERT INTO delegates (email, first_name, last_name,'
            . ' organisation) VALUES (?, ?, ?, ?)'
            . ' ON CONFLICT (email) DO UPDATE SET'
            . ' first_name = excluded.first_name,'
            . ' last_name = coalesce(excluded.last_name, last_name),'
            . ' organisation = coalesce(excluded.organisation, organisation)')
            ->execute([$email, $first_name, $last_name, $organisation]);
        if ($language !== null
            && familymail_has_column($db, 'delegates', 'language')) {
            $db->prepare('UPDATE delegates SET language = ? WHERE email = ?')
                ->execute([$language, $email]);
        }
        $db->prepare('INSERT INTO bookings (course_id, delegate_id,'
            . ' reference, status, created_at)'
            . " SELECT ?, id, ?, 'confirmed', ? FROM delegates"
            . ' WHERE email = ?')
            ->execute([$course_id, $reference, familymail_now(), $email]);
    });
    return $reference;
}

// Signs someone up, pending until they follow the link familymail mails
// them. Returns [id, whether they are new].
function familymail_subscribe(PDO $db, string $email, ?string $name = null,
    string $frequency = 'weekly', ?string $language = null): array
{
    return familymail_write($db, function (PDO $db) use ($email, $name,
        $frequency, $language) {
        $st = $db->prepare('INSERT INTO subscribers (email, name, status,'
            . " frequency, created_at) VALUES (?, ?, 'pending', ?, ?)"
            . ' ON CONFLICT (email) DO NOTHING');
        $st->execute([$email, $name, $frequency, familymail_now()]);
        $new = $st->rowCount() === 1;
        if ($new && $language !== null
            && familymail_has_column($db, 'subscribers', 'language')) {
            $db->prepare('UPDATE subscribers SET language = ? WHERE email = ?')
                ->execute([$language, $email]);
        }
        $st = $db->prepare('SELECT id FROM subscribers WHERE email = ?');
        $st->execute([$email]);
        return [(int)$st->fetchColumn(), $new];
    });
}

// Cancels a booking: a notice goes out if it was confirmed by mail.
function familymail_cancel(PDO $db, string $reference): bool
{
    $st = $db->prepare("UPDATE bookings SET status = 'cancelled'"
        . " WHERE reference = ? AND status = 'confirmed'");
    $st->execute([$reference]);
    return $st->rowCount() === 1;
}

function familymail_usage(): int
{
    fwrite(STDERR, "usage: php website.php DB book COURSE_ID EMAIL FIRST_NAME [LAST_NAME]\n"
        . "       php website.php DB subscribe EMAIL [NAME [weekly|monthly]]\n"
        . "       php website.php DB cancel REFERENCE\n");
    return 64;
}

function familymail_main(array $argv): int
{
    if (count($argv) < 3) {
        return familymail_usage();
    }
    $db = familymail_connect($argv[1]);
    $language = getenv('FAMILYMAIL_LANGUAGE') ?: null;
    $what = $argv[2];
    $args = array_slice($argv, 3);
    $n = count($args);
    try {
        if ($what === 'book' && $n >= 3 && $n <= 4) {
            $ref = familymail_book($db, (int)$args[0], $args[1], $args[2],
                $args[3] ?? null, null, $language);
            echo "booking $ref: course {$args[0]}, {$args[1]}\n";
        } elseif ($what === 'subscribe' && $n >= 1 && $n <= 3) {
            [$id, $new] = familymail_subscribe($db, $args[0],
                $args[1] ?? null, $args[2] ?? 'weekly', $language);
            echo "subscriber $id: {$args[0]}, "
                . ($new ? 'pending (a confirmation message follows)'
                    : 'already on the list') . "\n";
        } elseif ($what === 'cancel' && $n === 1) {
            $done = familymail_cancel($db, $args[0]);
            echo "booking {$args[0]}: "
                . ($done ? 'cancelled' : 'not found or not confirmed') . "\n";
            return $done ? 0 : 1;
        } else {
            return familymail_usage();
        }
    } catch (PDOException $e) {
        fwrite(STDERR, "website.php: $what: " . $e->getMessage() . "\n");
        return 1;
    }
    return 0;
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    exit(familymail_main($argv));
}
