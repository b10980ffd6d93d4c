/* version.c - build identification (see version.h).  The Makefile passes
 * AUTOREC_GIT_COMMIT and rebuilds this file when the commit changes. */
#include "version.h"

#ifndef AUTOREC_GIT_COMMIT
#define AUTOREC_GIT_COMMIT "unknown"
#endif

const char *version_git_commit(void) { return AUTOREC_GIT_COMMIT; }
