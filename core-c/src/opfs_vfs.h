/* opfs_vfs.h — the SQLite VFS over the origin private file system (Emscripten builds only). */
#ifndef NEURONOS_OPFS_VFS_H
#define NEURONOS_OPFS_VFS_H

#ifdef __EMSCRIPTEN__
/* The VFS's name, for sqlite3_open_v2 / neuronos_memory_params.vfs. */
#define NEURONOS_OPFS_VFS_NAME "opfs"

/* Registers the "opfs" VFS (not as the default). Idempotent; returns an SQLite result code.
 * Call it on the thread that will use the store (the worker's). */
int neuronos_opfs_vfs_register(void);
#endif

#endif /* NEURONOS_OPFS_VFS_H */
