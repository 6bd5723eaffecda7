/* opfs_vfs.c — a SQLite VFS named "opfs" over the origin private file system (OPFS).
 *
 * Emscripten 3.1.6 has no OPFS backend, so the memory database reaches OPFS through this VFS,
 * whose file methods call JavaScript synchronously (EM_JS) into `Module.neuronosOpfs`, an object
 * the worker installs (src/worker/memory-fs.ts) over FileSystemSyncAccessHandle objects:
 *
 *   open(path)                  → file id (>= 0), or -1 (not one of the pre-opened files)
 *   read(id, ptr, n, offset)    → bytes read (0..n), or -1
 *   write(id, ptr, n, offset)   → 0, -1 (I/O error) or -2 (quota: the browser refused the bytes)
 *   truncate(id, size)          → 0, -1 or -2
 *   sync(id)                    → 0 or -1 (FileSystemSyncAccessHandle.flush())
 *   size(id)                    → bytes, or -1
 *   close(id)                   → nothing (SQLite is done with it; the handle stays open)
 *   access(path)                → 1 if the path is a pre-opened file with content, else 0
 *   remove(path)                → 0 (truncated to 0 bytes and flushed), 1 (not ours), -1
 *
 * Offsets and sizes travel as doubles (exact below 2^53). Pointers arrive in JavaScript as
 * signed 32-bit numbers; the EM_JS bodies pass them on unsigned.
 *
 * Why pre-opened files: createSyncAccessHandle() is asynchronous and SQLite's xOpen is not, so
 * the worker opens the handles of `<agent>.db` and `<agent>.db-journal` before the database is
 * opened. The memory store only ever needs those two files (neuronos.h: rollback journal in
 * TRUNCATE mode, temp_store = MEMORY, one database, no WAL). A journal cannot be deleted while
 * its handle is open, so xDelete truncates it to 0 bytes (and flushes), and xAccess reports a
 * pre-opened file as existing only when it has content: an empty journal is no journal, exactly
 * as SQLite treats a journal it truncated itself. Any other named file cannot be opened
 * (SQLITE_CANTOPEN) and does not exist; files without a name (temporary files, which
 * temp_store = MEMORY should never ask for) go to the default VFS, in memory.
 *
 * Durability: xSync is flush(). With synchronous = FULL, SQLite flushes the journal before it
 * writes the database and the database before it truncates the journal (the commit point), so a
 * store call that returned is in the file, and a worker terminated at any moment leaves either
 * the old or the new state (a hot journal that the next open rolls back).
 *
 * Short reads zero-fill the rest of the buffer and return SQLITE_IOERR_SHORT_READ, as SQLite
 * requires. Short writes are errors: Chromium answers a write over the quota with a short (or
 * nonsensical) count rather than an exception, so the bridge reports them as -2, which becomes
 * SQLITE_FULL (the store says "storage is full or over quota"; the worker turns it into
 * quota_exceeded).
 *
 * Locking: xLock/xUnlock succeed without doing anything and xCheckReservedLock says nobody holds
 * a reserved lock. That is safe because there is only ever one connection to a given file:
 *  - an access handle is exclusive: no other tab or worker can open the file while we hold it
 *    (createSyncAccessHandle fails with NoModificationAllowedError), so no other process can
 *    read or write the database or journal under us;
 *  - the worker opens one store (one connection) at a time, and takes the Web Lock
 *    `neuronos-memory:<agent>` before it opens the handles, so tabs wait for each other (or run
 *    in RAM) instead of fighting over the handles.
 *
 * Threads: the handles live in the worker's JavaScript context. In the threaded build every call
 * into the store is made on the worker's own thread (the one that runs the module's main thread
 * and handles the protocol), never on a pthread: a pthread has no `Module.neuronosOpfs`, and the
 * EM_JS bodies then fail the call (-1, an I/O error) instead of touching anything.
 *
 * xRandomness, xSleep, xCurrentTime(Int64) and xGetLastError come from the default VFS.
 */
#ifdef __EMSCRIPTEN__

#include <emscripten.h>
#include <string.h>

#include "opfs_vfs.h"
#include "sqlite3.h"

/* ------------------------------------------------------------------ the JS bridge ---- */

EM_JS(int, opfs_js_open, (const char *path), {
    var b = Module["neuronosOpfs"];
    return b ? b.open(UTF8ToString(path)) : -1;
});

EM_JS(int, opfs_js_read, (int id, void *buf, int n, double off), {
    var b = Module["neuronosOpfs"];
    return b ? b.read(id, buf >>> 0, n, off) : -1;
});

EM_JS(int, opfs_js_write, (int id, const void *buf, int n, double off), {
    var b = Module["neuronosOpfs"];
    return b ? b.write(id, buf >>> 0, n, off) : -1;
});

EM_JS(int, opfs_js_truncate, (int id, double size), {
    var b = Module["neuronosOpfs"];
    return b ? b.truncate(id, size) : -1;
});

EM_JS(int, opfs_js_sync, (int id), {
    var b = Module["neuronosOpfs"];
    return b ? b.sync(id) : -1;
});

EM_JS(double, opfs_js_size, (int id), {
    var b = Module["neuronosOpfs"];
    return b ? b.size(id) : -1;
});

EM_JS(void, opfs_js_close, (int id), {
    var b = Module["neuronosOpfs"];
    if (b) b.close(id);
});

EM_JS(int, opfs_js_access, (const char *path), {
    var b = Module["neuronosOpfs"];
    return b ? b.access(UTF8ToString(path)) : 0;
});

EM_JS(int, opfs_js_remove, (const char *path), {
    var b = Module["neuronosOpfs"];
    return b ? b.remove(UTF8ToString(path)) : 1;
});

/* ------------------------------------------------------------------ files ------------- */

typedef struct opfs_file {
    sqlite3_file base;
    int id;
} opfs_file;

#define FILE_ID(f) (((opfs_file *)(f))->id)

static int x_close(sqlite3_file *f) {
    opfs_js_close(FILE_ID(f));
    return SQLITE_OK;
}

static int x_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off) {
    if (n < 0 || off < 0) return SQLITE_IOERR_READ;
    const int got = opfs_js_read(FILE_ID(f), buf, n, (double)off);
    if (got < 0 || got > n) return SQLITE_IOERR_READ;
    if (got < n) {
        memset((char *)buf + got, 0, (size_t)(n - got));
        return SQLITE_IOERR_SHORT_READ;
    }
    return SQLITE_OK;
}

static int x_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off) {
    if (n < 0 || off < 0) return SQLITE_IOERR_WRITE;
    const int rc = opfs_js_write(FILE_ID(f), buf, n, (double)off);
    return rc == 0 ? SQLITE_OK : rc == -2 ? SQLITE_FULL : SQLITE_IOERR_WRITE;
}

static int x_truncate(sqlite3_file *f, sqlite3_int64 size) {
    if (size < 0) return SQLITE_IOERR_TRUNCATE;
    const int rc = opfs_js_truncate(FILE_ID(f), (double)size);
    return rc == 0 ? SQLITE_OK : rc == -2 ? SQLITE_FULL : SQLITE_IOERR_TRUNCATE;
}

static int x_sync(sqlite3_file *f, int flags) {
    (void)flags;
    return opfs_js_sync(FILE_ID(f)) == 0 ? SQLITE_OK : SQLITE_IOERR_FSYNC;
}

static int x_file_size(sqlite3_file *f, sqlite3_int64 *size) {
    const double s = opfs_js_size(FILE_ID(f));
    if (!(s >= 0)) return SQLITE_IOERR_FSTAT;
    *size = (sqlite3_int64)s;
    return SQLITE_OK;
}

/* One connection per file (see the header comment): nothing to lock against. */
static int x_lock(sqlite3_file *f, int level) {
    (void)f, (void)level;
    return SQLITE_OK;
}

static int x_unlock(sqlite3_file *f, int level) {
    (void)f, (void)level;
    return SQLITE_OK;
}

static int x_check_reserved_lock(sqlite3_file *f, int *out) {
    (void)f;
    *out = 0;
    return SQLITE_OK;
}

static int x_file_control(sqlite3_file *f, int op, void *arg) {
    (void)f, (void)op, (void)arg;
    return SQLITE_NOTFOUND;
}

static int x_sector_size(sqlite3_file *f) {
    (void)f;
    return 4096;
}

/* Nobody can delete a file whose handle we hold. Nothing else is promised (no atomic or
 * safe-append writes): SQLite stays fully conservative. */
static int x_device_characteristics(sqlite3_file *f) {
    (void)f;
    return SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN;
}

static const sqlite3_io_methods g_methods = {
    .iVersion = 1,
    .xClose = x_close,
    .xRead = x_read,
    .xWrite = x_write,
    .xTruncate = x_truncate,
    .xSync = x_sync,
    .xFileSize = x_file_size,
    .xLock = x_lock,
    .xUnlock = x_unlock,
    .xCheckReservedLock = x_check_reserved_lock,
    .xFileControl = x_file_control,
    .xSectorSize = x_sector_size,
    .xDeviceCharacteristics = x_device_characteristics,
};

/* ------------------------------------------------------------------ the VFS ----------- */

static sqlite3_vfs *g_base = NULL; /* the default VFS (temporary files, time, randomness) */

static int x_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags) {
    (void)vfs;
    /* a nameless (temporary) file: the default VFS, in memory */
    if (!name) return g_base->xOpen(g_base, name, f, flags, out_flags);
    f->pMethods = NULL; /* required even when the open fails */
    const int id = opfs_js_open(name);
    if (id < 0) return SQLITE_CANTOPEN;
    FILE_ID(f) = id;
    f->pMethods = &g_methods;
    if (out_flags) *out_flags = flags;
    return SQLITE_OK;
}

static int x_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
    (void)vfs, (void)sync_dir;
    const int rc = opfs_js_remove(name);
    return rc == 0 ? SQLITE_OK : rc == 1 ? SQLITE_IOERR_DELETE_NOENT : SQLITE_IOERR_DELETE;
}

static int x_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs, (void)flags;
    *out = opfs_js_access(name) == 1;
    return SQLITE_OK;
}

static int x_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
    const size_t len = strlen(name);
    if (n <= 0 || len + 1 > (size_t)n || len + 1 > (size_t)vfs->mxPathname) return SQLITE_CANTOPEN;
    memcpy(out, name, len + 1);
    return SQLITE_OK;
}

static int x_randomness(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    return g_base->xRandomness(g_base, n, out);
}

static int x_sleep(sqlite3_vfs *vfs, int us) {
    (void)vfs;
    return g_base->xSleep(g_base, us);
}

static int x_current_time(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    return g_base->xCurrentTime(g_base, out);
}

static int x_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    if (g_base->iVersion >= 2 && g_base->xCurrentTimeInt64) return g_base->xCurrentTimeInt64(g_base, out);
    double d = 0;
    const int rc = g_base->xCurrentTime(g_base, &d);
    *out = (sqlite3_int64)(d * 86400000.0);
    return rc;
}

static int x_get_last_error(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    return g_base->xGetLastError ? g_base->xGetLastError(g_base, n, out) : 0;
}

int neuronos_opfs_vfs_register(void) {
    static sqlite3_vfs vfs;
    static int registered = 0;
    if (registered) return SQLITE_OK;
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK) return rc;
    g_base = sqlite3_vfs_find(NULL);
    if (!g_base) return SQLITE_ERROR;
    memset(&vfs, 0, sizeof vfs);
    vfs.iVersion = 2;
    vfs.szOsFile = (int)sizeof(opfs_file) > g_base->szOsFile ? (int)sizeof(opfs_file) : g_base->szOsFile;
    vfs.mxPathname = 512;
    vfs.zName = NEURONOS_OPFS_VFS_NAME;
    vfs.xOpen = x_open;
    vfs.xDelete = x_delete;
    vfs.xAccess = x_access;
    vfs.xFullPathname = x_full_pathname;
    vfs.xDlOpen = g_base->xDlOpen;
    vfs.xDlError = g_base->xDlError;
    vfs.xDlSym = g_base->xDlSym;
    vfs.xDlClose = g_base->xDlClose;
    vfs.xRandomness = x_randomness;
    vfs.xSleep = x_sleep;
    vfs.xCurrentTime = x_current_time;
    vfs.xGetLastError = x_get_last_error;
    vfs.xCurrentTimeInt64 = x_current_time_int64;
    rc = sqlite3_vfs_register(&vfs, 0);
    if (rc == SQLITE_OK) registered = 1;
    return rc;
}

#endif /* __EMSCRIPTEN__ */
