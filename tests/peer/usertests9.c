// A driver for the C xv6 peer's usertests.c, compiled with
// -Dmain=usertests_main: it runs only the nine tests that need processes,
// pipes and memory but no writable file system, in the order the full
// run has them, then prints one line a test can look for. This file is
// the project's own; usertests.c itself is used unchanged.

#include "types.h"
#include "user.h"

void bsstest(void);
void sbrktest(void);
void validatetest(void);
void mem(void);
void pipe1(void);
void preempt(void);
void exitwait(void);
void forktest(void);
void uio(void);

int
main(void)
{
  bsstest();
  sbrktest();
  validatetest();
  mem();
  pipe1();
  preempt();
  exitwait();
  forktest();
  uio();
  // Each test exits the whole program on failure, so reaching here means
  // all nine passed.
  printf(1, "usertests9: ALL TESTS PASSED\n");
  exit();
}
