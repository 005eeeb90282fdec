// A send worker's use of the installed library: open a replica directory, ask. Exit 0
// when every answer is the one tests/install/make_replica.cc wrote, 1 otherwise.
#include <mailhook/suppression.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto opened = mailhook::open_replica(argv[1]);
  if (!opened.lookup) return std::fprintf(stderr, "consumer: %s\n", opened.error.c_str()), 1;
  const mailhook::suppression_lookup& index = *opened.lookup;
  auto bounced = index.describe("acme", " Bounced@EXAMPLE.com ");  // normalized by the lookup
  bool ok = !bounced.allowed() &&
            bounced.suppressed->reason == mailhook::suppression_reason::bounce &&
            bounced.suppressed->detail == "550 5.1.1 unknown user";
  ok = ok && index.check("acme", "someone@example.com").allowed();
  ok = ok && index.check("acme", "cleared@example.com").allowed();
  ok = ok && !index.check("acme", "grouped@example.com", 42).allowed();
  ok = ok && index.check("acme", "grouped@example.com", 7).allowed();
  ok = ok && mailhook::to_string(mailhook::suppression_reason::bounce) == "bounce";
  std::printf(
      "consumer: bounced@example.com %s (%s): %s\n", bounced.allowed() ? "allowed" : "suppressed",
      bounced.allowed() ? "-" : bounced.suppressed->detail.c_str(), ok ? "as written" : "WRONG");
  return ok ? 0 : 1;
}
