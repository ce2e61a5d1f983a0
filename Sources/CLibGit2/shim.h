#ifndef CLIBGIT2_SHIM_H
#define CLIBGIT2_SHIM_H
#include <git2.h>

/// Sets the largest tree object libgit2 keeps in its object cache (git_libgit2_opts is variadic,
/// so Swift cannot call it directly). libgit2's default of 4 KiB leaves a `migrations/` folder
/// with thousands of entries uncached, so every walk step would parse it again.
static inline int CLibGit2_set_tree_cache_limit(size_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, bytes);
}

/// Turns off libgit2's check that each object read from disk hashes to its id (on by default; git itself does
/// not re-hash objects on every read). It costs a SHA-1 per blob, which doubles the time to read many small ones.
static inline int CLibGit2_disable_strict_hash_verification(void) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
}

#endif
