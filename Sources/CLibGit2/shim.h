#ifndef CLIBGIT2_SHIM_H
#define CLIBGIT2_SHIM_H
#include <git2.h>

/// Sets the largest tree object libgit2 keeps in its object cache (git_libgit2_opts is variadic,
/// so Swift cannot call it directly). libgit2's default of 4 KiB leaves a `migrations/` folder
/// with thousands of entries uncached, so every walk step would parse it again.
static inline int CLibGit2_set_tree_cache_limit(size_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, bytes);
}

#endif
