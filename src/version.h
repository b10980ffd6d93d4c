/* version.h - build identification. */
#ifndef AUTOREC_VERSION_H
#define AUTOREC_VERSION_H

#define AUTOREC_VERSION "0.1.0"

/* The git commit autorec was built from ("unknown" outside a checkout;
 * suffixed "-dirty" when the tree had uncommitted changes). */
const char *version_git_commit(void);

#endif
