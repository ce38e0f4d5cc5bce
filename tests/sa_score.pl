# SPDX-License-Identifier: GPL-3.0-or-later
#
# sa_score.pl: SpamAssassin's verdict on messages, for check_dns.
#
# usage: perl sa_score.pl PORT STATEDIR MESSAGE...
#
# Loads SpamAssassin once (Debian's spamassassin, with the rules it
# ships and its DKIM plugin) with network tests on but every DNS look-up
# sent to 127.0.0.1:PORT (the tests' own server, which publishes the DKIM
# keys), Bayes off, state in STATEDIR; prints one line per message:
#
#     MESSAGE SCORE TEST,TEST,...
#
# SCORE with three decimals, the rules hit sorted.
use strict;
use warnings;

use Mail::SpamAssassin;

my ($port, $state, @files) = @ARGV;
die "usage: sa_score.pl PORT STATEDIR MESSAGE...\n" unless @files;

my $sa = Mail::SpamAssassin->new({
	local_tests_only => 0,
	dont_copy_prefs => 1,
	userstate_dir => $state,
	home_dir_for_helpers => $state,
	post_config_text => "dns_server 127.0.0.1:$port\n"
	    . "dns_available yes\nuse_bayes 0\nskip_rbl_checks 0\n",
});
$sa->init(1);
for my $path (@files) {
	open(my $fh, '<', $path) or die "$path: $!\n";
	my $text = do { local $/; <$fh> };
	close($fh);
	my $msg = $sa->parse($text);
	my $status = $sa->check($msg);
	printf("%s %.3f %s\n", $path, $status->get_score(),
	    join(',', sort(split(/,/, $status->get_names_of_tests_hit()))));
	$status->finish();
	$msg->finish();
}
