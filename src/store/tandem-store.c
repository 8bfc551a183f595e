/* tandem-store.c: opening a profile, its schema and its identity
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A profile is a folder (mode 0700) holding:
 *
 *   tandem.db          the SQLite database (WAL mode, created 0600: it
 *                      holds the notebook keys)
 *   identity-key.pem   the TLS private key, 0600 (see tandem-store-identity.c)
 *   instance           "TOKEN GENERATION", the install marker (see below)
 *   tandem.lock        flock()ed while a Tandem has the profile open
 *
 * Opening never writes to a database it has not checked: it is read
 * (PRAGMA quick_check, application_id, user_version) before anything,
 * even the switch to WAL, touches it. A damaged file, another program's
 * database and a database from a newer Tandem are refused and left exactly
 * as they were, so the user can still restore or inspect them.
 *
 * Restored backups. Event ids are (peer id, sequence number), so a peer
 * that comes back from a backup with old counters would hand out ids its
 * earlier self already used for other edits. The store therefore
 * recognises "this is not the database I last closed" and then gives the
 * profile a new peer id (with a new key and certificate, whose common name
 * is the peer id), puts every note's sequence counter back to 0 and drops
 * the undo stacks (they name the old id's events). It compares:
 *
 *   - a random token kept both in the database and in the `instance` file:
 *     a database copied into another profile (or without the file) differs;
 *   - the inode of tandem.db: restore tools and copies make a new file;
 *   - a generation counter, bumped in both at every open: a backup copied
 *     back over the same file in place carries an older generation.
 *
 * A missing key file counts as a move too: the certificate is useless
 * without it, and a profile must never be stuck.
 *
 * Not caught: a whole profile folder restored in place with its inode
 * reused by chance, and a backup taken during the current session
 * restored before the next open. Filesystems without stable inode numbers
 * (some FUSE mounts) get a new peer id at every open, which costs sync
 * work but never corrupts anything.
 *
 * A TandemStore owns one SQLite connection and is used from one thread;
 * the profile lock keeps other processes out.
 */
#include "tandem-store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define DB_FILE_NAME "tandem.db"
#define KEY_FILE_NAME "identity-key.pem"
#define INSTANCE_FILE_NAME "instance"
#define LOCK_FILE_NAME "tandem.lock"
#define PRIVATE_NOTEBOOK_NAME "Private"
#define DISPLAY_NAME_MAX_CHARS 128
#define BUSY_TIMEOUT_MS 5000
/* "Tand": tells our databases from other SQLite files. */
#define TANDEM_APPLICATION_ID 0x54616e64

G_DEFINE_QUARK (tandem-store-error-quark, tandem_store_error)

/* Each step takes the schema from version i to i + 1. A released step never
 * changes: a profile written by an earlier Tandem replays the steps it
 * lacks, and a new profile replays all of them, so the upgrade path is the
 * one every new profile takes and cannot rot. All steps run in one
 * transaction with the version bump. */
static const char * const migrations[] = {
  /* 0 -> 1: the first schema */
  "CREATE TABLE notebooks ("
  "  id             TEXT PRIMARY KEY NOT NULL,"
  "  name           TEXT NOT NULL,"
  "  secret_key     BLOB NOT NULL CHECK (length (secret_key) = 32),"
  "  field_policies TEXT NOT NULL DEFAULT '{}' CHECK (json_valid (field_policies)),"
  "  created        INTEGER NOT NULL"
  ");"
  "CREATE TABLE identity ("
  "  id                  INTEGER PRIMARY KEY CHECK (id = 1),"
  "  peer_id             TEXT NOT NULL,"
  "  display_name        TEXT NOT NULL,"
  "  colour              TEXT NOT NULL,"
  "  certificate         TEXT NOT NULL,"
  "  private_notebook    TEXT NOT NULL REFERENCES notebooks (id),"
  "  instance_token      TEXT NOT NULL,"
  "  instance_inode      INTEGER NOT NULL,"
  "  instance_generation INTEGER NOT NULL,"
  "  created             INTEGER NOT NULL"
  ");"
  "CREATE TABLE members ("
  "  notebook_id      TEXT NOT NULL REFERENCES notebooks (id) ON DELETE CASCADE,"
  "  peer_id          TEXT NOT NULL CHECK (length (peer_id) = 16),"
  "  name             TEXT NOT NULL,"
  "  cert_fingerprint TEXT NOT NULL,"
  "  last_version     TEXT CHECK (last_version IS NULL OR json_valid (last_version)),"
  "  PRIMARY KEY (notebook_id, peer_id)"
  ");"
  "CREATE TABLE notes ("
  "  id          TEXT PRIMARY KEY NOT NULL,"
  "  notebook_id TEXT NOT NULL REFERENCES notebooks (id) ON DELETE CASCADE,"
  "  created     INTEGER NOT NULL,"
  "  updated     INTEGER NOT NULL,"
  "  text        TEXT NOT NULL DEFAULT '',"
  "  fields      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid (fields)),"
  "  log         BLOB,"
  "  log_events  INTEGER NOT NULL DEFAULT 0,"
  "  seq_counter INTEGER NOT NULL DEFAULT 0"
  ");"
  "CREATE INDEX notes_notebook ON notes (notebook_id);"
  "CREATE TABLE note_tail ("
  "  note_id TEXT NOT NULL REFERENCES notes (id) ON DELETE CASCADE,"
  "  n       INTEGER NOT NULL,"
  "  runs    BLOB NOT NULL,"
  "  PRIMARY KEY (note_id, n)"
  ");"
  "CREATE TABLE note_pending ("
  "  note_id TEXT NOT NULL REFERENCES notes (id) ON DELETE CASCADE,"
  "  n       INTEGER NOT NULL,"
  "  event   BLOB NOT NULL,"
  "  PRIMARY KEY (note_id, n)"
  ");"
  "CREATE TABLE note_undo ("
  "  note_id TEXT PRIMARY KEY NOT NULL REFERENCES notes (id) ON DELETE CASCADE,"
  "  data    BLOB NOT NULL"
  ");",

  /* 1 -> 2: the compacted log leaves the notes row. SQLite rewrites a
   * whole row on UPDATE, so with the log inside it every commit to a note
   * wrote its whole history again: with a 1 MB log and 100 KB of text, 50
   * commits left a 5.6 MB write-ahead log instead of 2.0 MB and took 0.87
   * instead of 0.39 ms each. The list of a notebook's notes is also read
   * newest first now. */
  "CREATE TABLE note_log ("
  "  note_id TEXT PRIMARY KEY NOT NULL REFERENCES notes (id) ON DELETE CASCADE,"
  "  log     BLOB NOT NULL"
  ");"
  "INSERT INTO note_log (note_id, log) SELECT id, log FROM notes WHERE log IS NOT NULL;"
  "ALTER TABLE notes DROP COLUMN log;"
  "DROP INDEX notes_notebook;"
  "CREATE INDEX notes_notebook_updated ON notes (notebook_id, updated);",

  /* 2 -> 3: a note's history can be browsed: every commit that added
   * events marks a version (the first n_events of the log, which is a
   * causally complete prefix), with when and by whom; a name keeps it. */
  "CREATE TABLE note_versions ("
  "  note_id  TEXT NOT NULL REFERENCES notes (id) ON DELETE CASCADE,"
  "  n_events INTEGER NOT NULL,"
  "  time     INTEGER NOT NULL,"
  "  authors  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid (authors)),"
  "  name     TEXT,"
  "  PRIMARY KEY (note_id, n_events)"
  ");",

  /* 3 -> 4: for the network. A notebook's key can be rotated, and the key
   * it replaced is kept for the peers that have not heard of the new one
   * yet. Where each peer was last reached is remembered (the newest few
   * per peer, see tandem_store_remember_address()), so a peer can try
   * there again without waiting for discovery. */
  "ALTER TABLE notebooks ADD COLUMN previous_key BLOB"
  "  CHECK (previous_key IS NULL OR length (previous_key) = 32);"
  "CREATE TABLE peer_addresses ("
  "  peer_id   TEXT NOT NULL CHECK (length (peer_id) = 16),"
  "  host      TEXT NOT NULL CHECK (length (CAST (host AS BLOB)) BETWEEN 1 AND 255),"
  "  port      INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
  "  last_seen INTEGER NOT NULL,"
  "  PRIMARY KEY (peer_id, host, port)"
  ");",

  /* 4 -> 5: a removed member stays removed. Member lists merge by union
   * between peers, so without this a member that had not heard of the
   * removal yet would hand the removed one back. */
  "CREATE TABLE removed_members ("
  "  notebook_id TEXT NOT NULL REFERENCES notebooks (id) ON DELETE CASCADE,"
  "  peer_id     TEXT NOT NULL CHECK (length (peer_id) = 16),"
  "  PRIMARY KEY (notebook_id, peer_id)"
  ");",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == TANDEM_STORE_SCHEMA_VERSION);

/* Colours that read well on light and dark backgrounds (the GNOME accent
 * palette); a peer's carets and selections use it. */
static const char * const palette[] = {
  "#3584e4", "#2190a4", "#3a944a", "#c88800", "#ed5b00",
  "#e62d42", "#d56199", "#9141ac", "#6f8396",
};

G_DEFINE_FINAL_TYPE (TandemStore, tandem_store, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PROFILE_DIR,
  PROP_PEER_ID,
  PROP_PEER_ID_WAS_RESET,
  PROP_DISPLAY_NAME,
  PROP_COLOUR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- SQLite helpers shared by the store's files ------------------------ */

void
_tandem_store_stmt_release (sqlite3_stmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

/**
 * _tandem_store_fail:
 * @rc: the SQLite result code
 * @doing: what failed, completing "Could not ..."
 *
 * Sets @error from the connection's last error. Call it before rolling
 * back, which replaces that error.
 *
 * Returns: %FALSE
 */
gboolean
_tandem_store_fail (TandemStore  *self,
                    GError      **error,
                    int           rc,
                    const char   *doing)
{
  const char *detail = self->db != NULL ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc);
  int sys_errno = self->db != NULL ? sqlite3_system_errno (self->db) : 0;

  if ((rc & 0xff) == SQLITE_FULL || sys_errno == ENOSPC || sys_errno == EDQUOT)
    g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_DISK_FULL,
                 "Could not %s: the disk holding %s is full", doing, self->db_path);
  else if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
    g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                 "Could not %s: the database %s is damaged (%s)", doing, self->db_path, detail);
  else if ((rc & 0xff) == SQLITE_READONLY || sys_errno == EROFS)
    g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_READ_ONLY,
                 "Could not %s: the database %s is read-only (%s)", doing, self->db_path, detail);
  else
    g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                 "Could not %s in %s: %s", doing, self->db_path, detail);
  return FALSE;
}

sqlite3_stmt *
_tandem_store_prepare (TandemStore  *self,
                       const char   *sql,
                       GError      **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (self->stmts, sql);
  int rc;

  if (stmt != NULL)
    return stmt;

  rc = sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      _tandem_store_fail (self, error, rc, "read the database");
      return NULL;
    }
  g_hash_table_insert (self->stmts, (gpointer) sql, stmt);
  return stmt;
}

gboolean
_tandem_store_exec (TandemStore  *self,
                    const char   *sql,
                    GError      **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return _tandem_store_fail (self, error, rc, "write to the database");
  return TRUE;
}

/* Writers take the write lock up front (IMMEDIATE), so a transaction never
 * fails halfway through for want of a lock it could have waited for. */
gboolean
_tandem_store_begin (TandemStore  *self,
                     GError      **error)
{
  return _tandem_store_exec (self, "BEGIN IMMEDIATE", error);
}

void
_tandem_store_rollback (TandemStore *self)
{
  /* SQLite may already have rolled back by itself (after SQLITE_FULL, for
   * one); a second ROLLBACK would only fail. */
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

gboolean
_tandem_store_commit (TandemStore  *self,
                      GError      **error)
{
  int rc = sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      _tandem_store_fail (self, error, rc, "save the change");
      _tandem_store_rollback (self);
      return FALSE;
    }
  return TRUE;
}

/* Steps a statement that returns no rows. */
gboolean
_tandem_store_step_done (TandemStore   *self,
                         sqlite3_stmt  *stmt,
                         const char    *doing,
                         GError       **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE)
    return _tandem_store_fail (self, error, rc, doing);
  return TRUE;
}

void
_tandem_store_bind_bytes (sqlite3_stmt *stmt,
                          int           index,
                          GBytes       *bytes)
{
  gsize size = 0;
  const void *data = g_bytes_get_data (bytes, &size);

  /* A NULL pointer would bind SQL NULL; an empty blob is not NULL. */
  if (size == 0)
    sqlite3_bind_zeroblob (stmt, index, 0);
  else
    sqlite3_bind_blob64 (stmt, index, data, size, SQLITE_STATIC);
}

GBytes *
_tandem_store_column_bytes (sqlite3_stmt *stmt,
                            int           index)
{
  const void *data = sqlite3_column_blob (stmt, index);
  int size = sqlite3_column_bytes (stmt, index);

  return g_bytes_new (data, size);
}

char *
_tandem_store_random_id (void)
{
  return _tandem_identity_random_hex (16);
}

static gboolean
pragma_int (TandemStore  *self,
            const char   *sql,
            gint64       *value,
            GError      **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      _tandem_store_fail (self, error, rc, "read the database");
      sqlite3_finalize (stmt);
      return FALSE;
    }
  *value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return TRUE;
}

/* ---- GObject ----------------------------------------------------------- */

static void
tandem_store_finalize (GObject *object)
{
  TandemStore *self = (TandemStore *) object;

  /* Statements first: sqlite3_close() refuses while any is alive. */
  g_clear_pointer (&self->stmts, g_hash_table_unref);
  if (self->db != NULL)
    sqlite3_close (self->db);
  if (self->lock_fd >= 0)
    close (self->lock_fd);

  if (self->private_key_pem != NULL)
    explicit_bzero (self->private_key_pem, strlen (self->private_key_pem));
  g_free (self->private_key_pem);
  g_free (self->profile_dir);
  g_free (self->db_path);
  g_free (self->display_name);
  g_free (self->colour);
  g_free (self->certificate_pem);
  g_free (self->fingerprint);
  g_free (self->private_notebook_id);

  G_OBJECT_CLASS (tandem_store_parent_class)->finalize (object);
}

static void
tandem_store_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TandemStore *self = TANDEM_STORE (object);

  switch (prop_id)
    {
    case PROP_PROFILE_DIR:
      g_value_set_string (value, self->profile_dir);
      break;
    case PROP_PEER_ID:
      g_value_set_uint64 (value, self->peer_id);
      break;
    case PROP_PEER_ID_WAS_RESET:
      g_value_set_boolean (value, self->peer_id_was_reset);
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, self->display_name);
      break;
    case PROP_COLOUR:
      g_value_set_string (value, self->colour);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tandem_store_class_init (TandemStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tandem_store_finalize;
  object_class->get_property = tandem_store_get_property;

  /**
   * TandemStore:profile-dir:
   *
   * The profile folder.
   */
  properties[PROP_PROFILE_DIR] =
    g_param_spec_string ("profile-dir", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TandemStore:peer-id:
   *
   * This install's peer id.
   */
  properties[PROP_PEER_ID] =
    g_param_spec_uint64 ("peer-id", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TandemStore:peer-id-was-reset:
   *
   * Whether opening found a database restored from a backup or copied from
   * elsewhere and so gave this profile a new peer id, key and certificate.
   * The app should tell the user that other members see it as a new
   * device.
   */
  properties[PROP_PEER_ID_WAS_RESET] =
    g_param_spec_boolean ("peer-id-was-reset", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TandemStore:display-name:
   *
   * The name other peers see.
   */
  properties[PROP_DISPLAY_NAME] =
    g_param_spec_string ("display-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * TandemStore:colour:
   *
   * This peer's colour, `#rrggbb`.
   */
  properties[PROP_COLOUR] =
    g_param_spec_string ("colour", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
stmt_finalize (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
tandem_store_init (TandemStore *self)
{
  self->lock_fd = -1;
  self->stmts = g_hash_table_new_full (NULL, NULL, NULL, stmt_finalize);
}

/* ---- opening ----------------------------------------------------------- */

static char *
default_profile_dir (void)
{
  const char *env = g_getenv ("TANDEM_PROFILE");

  if (env != NULL && *env != '\0')
    return g_canonicalize_filename (env, NULL);
  return g_build_filename (g_get_user_data_dir (), "tandem", NULL);
}

static char *
profile_file (TandemStore *self,
              const char  *name)
{
  return g_build_filename (self->profile_dir, name, NULL);
}

static gboolean
prepare_profile_dir (TandemStore  *self,
                     GError      **error)
{
  if (g_mkdir_with_parents (self->profile_dir, 0700) != 0)
    {
      _tandem_store_errno_error (error, errno, "Could not create the profile folder %s",
                                 self->profile_dir);
      return FALSE;
    }

  /* SQLite needs to make its -wal and -shm files beside the database; say
   * so now rather than fail later with a vaguer message. */
  if (access (self->profile_dir, W_OK | X_OK) != 0)
    {
      _tandem_store_errno_error (error, errno, "The profile folder %s cannot be written",
                                 self->profile_dir);
      return FALSE;
    }

  return TRUE;
}

/* Two processes on one profile would both hand out the same event ids and
 * race on the instance marker, so the second is turned away. */
static gboolean
lock_profile (TandemStore  *self,
              GError      **error)
{
  g_autofree char *path = profile_file (self, LOCK_FILE_NAME);

  self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (self->lock_fd < 0)
    {
      _tandem_store_errno_error (error, errno, "Could not open %s", path);
      return FALSE;
    }

  while (flock (self->lock_fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == EINTR)
        continue;
      if (saved_errno == EWOULDBLOCK)
        g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_IN_USE,
                     "The profile %s is already open in another Tandem", self->profile_dir);
      else
        _tandem_store_errno_error (error, saved_errno, "Could not lock %s", path);
      return FALSE;
    }

  return TRUE;
}

static gboolean
create_database_file (TandemStore  *self,
                      GError      **error)
{
  g_autofree char *wal = g_strconcat (self->db_path, "-wal", NULL);
  int fd;

  /* A write-ahead log without its database is the newest part of a
   * database that was moved or deleted; a new database would replay it as
   * if it were its own. */
  if (g_file_test (wal, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   "%s exists but %s does not; move it away to start a new profile, "
                   "or put the database back beside it", wal, self->db_path);
      return FALSE;
    }

  /* Created here, 0600, rather than by SQLite (0644 less the umask): the
   * database holds the notebook keys. SQLite gives its -wal and -shm files
   * the database's mode. */
  fd = open (self->db_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      _tandem_store_errno_error (error, errno, "Could not create %s", self->db_path);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/**
 * tandem_store_delete_profile:
 * @profile_dir: a profile folder, not open
 *
 * Removes the files a profile consists of, and the folder if that leaves
 * it empty. For temporary profiles; a user's data is never removed
 * behind their back.
 *
 * Returns: %TRUE when the folder is gone
 */
gboolean
tandem_store_delete_profile (const char  *profile_dir,
                             GError     **error)
{
  const char *names[] = { "tandem.db", "tandem.db-wal", "tandem.db-shm", "tandem.db-journal",
                          "identity-key.pem", "instance", "tandem.lock" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (profile_dir, names[i], NULL);

      g_unlink (path);
    }
  if (g_rmdir (profile_dir) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Could not remove %s: %s", profile_dir, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

/**
 * tandem_store_check_integrity:
 *
 * Runs SQLite's full integrity check (opening runs the quick one).
 *
 * Returns: %TRUE when the database is sound; else @error says what is wrong
 */
gboolean
tandem_store_check_integrity (TandemStore  *self,
                              GError      **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;
  gboolean ok;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);

  rc = sqlite3_prepare_v2 (self->db, "PRAGMA integrity_check", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      sqlite3_finalize (stmt);
      return _tandem_store_fail (self, error, rc, "check the database");
    }
  ok = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") == 0;
  if (!ok)
    g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                 "The database %s is damaged: %s", self->db_path,
                 (const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return ok;
}

/* Reads the database before anything may write to it. */
static gboolean
check_database (TandemStore  *self,
                gint64       *version,
                GError      **error)
{
  sqlite3_stmt *stmt = NULL;
  gint64 app_id = 0, n_objects = 0;
  int rc;

  rc = sqlite3_prepare_v2 (self->db, "PRAGMA quick_check", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW && g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") != 0)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   "The database %s is damaged and was left as it is (%s). "
                   "Restore a backup, or start a new profile",
                   self->db_path, (const char *) sqlite3_column_text (stmt, 0));
      sqlite3_finalize (stmt);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    {
      if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                     "%s is not a Tandem database or is damaged; it was left as it is. "
                     "Restore a backup, or start a new profile", self->db_path);
      else
        _tandem_store_fail (self, error, rc, "read the database");
      sqlite3_finalize (stmt);
      return FALSE;
    }
  sqlite3_finalize (stmt);

  if (!pragma_int (self, "PRAGMA application_id", &app_id, error) ||
      !pragma_int (self, "PRAGMA user_version", version, error) ||
      !pragma_int (self, "SELECT count(*) FROM sqlite_master", &n_objects, error))
    return FALSE;

  if (app_id != TANDEM_APPLICATION_ID && (app_id != 0 || n_objects > 0))
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   "%s is not a Tandem database; it was left as it is", self->db_path);
      return FALSE;
    }

  if (*version > TANDEM_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NEWER_SCHEMA,
                   "%s was written by a newer Tandem (schema %" G_GINT64_FORMAT
                   ", this one knows %d); it was left as it is",
                   self->db_path, *version, TANDEM_STORE_SCHEMA_VERSION);
      return FALSE;
    }

  return TRUE;
}

static gboolean
open_database (TandemStore  *self,
               gint64       *version,
               GError      **error)
{
  GStatBuf st;
  int rc;

  if (g_stat (self->db_path, &st) != 0)
    {
      int saved_errno = errno;

      if (saved_errno != ENOENT)
        {
          g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                       "Could not read %s: %s", self->db_path, g_strerror (saved_errno));
          return FALSE;
        }
      if (!create_database_file (self, error))
        return FALSE;
    }
  else if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   "%s is not a database file", self->db_path);
      return FALSE;
    }
  else if (access (self->db_path, R_OK) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "The database %s cannot be read: %s", self->db_path, g_strerror (saved_errno));
      return FALSE;
    }
  else if (access (self->db_path, W_OK) != 0)
    {
      _tandem_store_errno_error (error, errno, "The database %s cannot be written",
                                 self->db_path);
      return FALSE;
    }

  /* Never SQLITE_OPEN_CREATE: the file exists by now, and if it vanished
   * in between, making an empty one would only hide that. */
  rc = sqlite3_open_v2 (self->db_path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE, NULL);
  if (rc != SQLITE_OK)
    return _tandem_store_fail (self, error, rc, "open the database");

  sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);

  if (!check_database (self, version, error))
    return FALSE;

  /* Only now that the file is known to be ours may anything write to it:
   * switching to WAL rewrites the header. WAL lets a commit append instead
   * of rewriting pages; synchronous=FULL makes each commit durable at
   * COMMIT even through a power cut (NORMAL would only survive a crash of
   * the process) — test-store prints what each costs.
   * journal_size_limit stops one huge commit from leaving a huge -wal. */
  if (!_tandem_store_exec (self, "PRAGMA journal_mode = WAL", error) ||
      !_tandem_store_exec (self, "PRAGMA synchronous = FULL", error) ||
      !_tandem_store_exec (self, "PRAGMA foreign_keys = ON", error) ||
      !_tandem_store_exec (self, "PRAGMA journal_size_limit = 4194304", error))
    return FALSE;

  return TRUE;
}

static gboolean
migrate (TandemStore  *self,
         gint64        version,
         GError      **error)
{
  g_autofree char *set_version = NULL;

  if (version == TANDEM_STORE_SCHEMA_VERSION)
    return TRUE;

  if (!_tandem_store_begin (self, error))
    return FALSE;

  for (gint64 v = version; v < TANDEM_STORE_SCHEMA_VERSION; v++)
    {
      int rc = sqlite3_exec (self->db, migrations[v], NULL, NULL, NULL);

      if (rc != SQLITE_OK)
        {
          g_autofree char *doing = g_strdup_printf ("upgrade the database from schema %" G_GINT64_FORMAT,
                                                    v);

          _tandem_store_fail (self, error, rc, doing);
          _tandem_store_rollback (self);
          return FALSE;
        }
    }

  set_version = g_strdup_printf ("PRAGMA user_version = %d; PRAGMA application_id = %d",
                                 TANDEM_STORE_SCHEMA_VERSION, TANDEM_APPLICATION_ID);
  if (!_tandem_store_exec (self, set_version, error))
    {
      _tandem_store_rollback (self);
      return FALSE;
    }

  return _tandem_store_commit (self, error);
}

/* ---- identity ---------------------------------------------------------- */

typedef struct
{
  char *peer_id;
  char *display_name;
  char *colour;
  char *certificate;
  char *private_notebook;
  char *token;
  gint64 inode;
  gint64 generation;
} IdentityRow;

static void
identity_row_clear (IdentityRow *row)
{
  g_free (row->peer_id);
  g_free (row->display_name);
  g_free (row->colour);
  g_free (row->certificate);
  g_free (row->private_notebook);
  g_free (row->token);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (IdentityRow, identity_row_clear)

static gboolean
read_identity_row (TandemStore  *self,
                   IdentityRow  *row,
                   gboolean     *found,
                   GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  int rc;

  stmt = _tandem_store_prepare (self,
                                "SELECT peer_id, display_name, colour, certificate, private_notebook,"
                                " instance_token, instance_inode, instance_generation"
                                " FROM identity WHERE id = 1", error);
  if (stmt == NULL)
    return FALSE;

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      *found = FALSE;
      return TRUE;
    }
  if (rc != SQLITE_ROW)
    return _tandem_store_fail (self, error, rc, "read the identity");

  *found = TRUE;
  row->peer_id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  row->display_name = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  row->colour = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  row->certificate = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
  row->private_notebook = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
  row->token = g_strdup ((const char *) sqlite3_column_text (stmt, 5));
  row->inode = sqlite3_column_int64 (stmt, 6);
  row->generation = sqlite3_column_int64 (stmt, 7);
  return TRUE;
}

static gboolean
parse_peer_id (const char *str,
               guint64    *peer_id)
{
  char *end = NULL;

  if (str == NULL || strlen (str) != 16)
    return FALSE;
  for (const char *c = str; *c; c++)
    if (!g_ascii_isxdigit (*c))
      return FALSE;
  *peer_id = g_ascii_strtoull (str, &end, 16);
  return end != NULL && *end == '\0';
}

static gboolean
db_inode (TandemStore *self,
          gint64      *inode,
          GError     **error)
{
  GStatBuf st;

  if (g_stat (self->db_path, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "Could not read %s: %s", self->db_path, g_strerror (saved_errno));
      return FALSE;
    }
  *inode = (gint64) st.st_ino;
  return TRUE;
}

/* Whether @row describes the database this profile last opened; see the
 * comment at the top of the file. */
static gboolean
instance_matches (TandemStore       *self,
                  const IdentityRow *row,
                  gint64             inode)
{
  g_autofree char *path = profile_file (self, INSTANCE_FILE_NAME);
  g_autofree char *contents = NULL;
  g_auto(GStrv) parts = NULL;
  gint64 generation;
  char *end = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;

  parts = g_strsplit (g_strstrip (contents), " ", 2);
  if (g_strv_length (parts) != 2)
    return FALSE;
  generation = g_ascii_strtoll (parts[1], &end, 10);
  if (end == parts[1] || *end != '\0')
    return FALSE;

  return g_str_equal (parts[0], row->token) &&
         inode == row->inode &&
         row->generation >= generation;
}

static char *
default_display_name (void)
{
  const char *real = g_get_real_name ();

  /* g_get_real_name() says "Unknown" when there is no GECOS name. */
  if (real != NULL && *real != '\0' && g_strcmp0 (real, "Unknown") != 0)
    return g_utf8_make_valid (real, -1);
  return g_utf8_make_valid (g_get_user_name (), -1);
}

/* Makes a new peer id, key and certificate. The key file is written before
 * the database: if the process dies in between, the database still has the
 * old identity (or none) and the next open makes a new one again, never
 * pairing a certificate with a key that was lost. */
static gboolean
new_identity (TandemStore        *self,
              const IdentityRow  *old,
              gint64              inode,
              GError            **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autofree char *key_path = profile_file (self, KEY_FILE_NAME);
  g_autofree char *peer_hex = NULL;
  g_autofree char *cert_pem = NULL;
  g_autofree char *key_pem = NULL;
  g_autofree char *token = _tandem_identity_random_hex (16);
  g_autofree char *fingerprint = NULL;
  g_autofree char *display_name = NULL;
  g_autofree char *colour = NULL;
  g_autofree char *private_notebook = NULL;
  guint64 peer_id = _tandem_identity_random_peer_id ();
  gint64 now = g_get_real_time ();
  int rc;

  peer_hex = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", peer_id);
  if (!_tandem_identity_make (peer_id, &cert_pem, &key_pem, error))
    return FALSE;
  fingerprint = _tandem_identity_fingerprint (cert_pem, error);
  if (fingerprint == NULL)
    return FALSE;

  if (!_tandem_identity_write_key (key_path, key_pem, error))
    {
      explicit_bzero (key_pem, strlen (key_pem));
      return FALSE;
    }

  if (!_tandem_store_begin (self, error))
    goto fail;

  if (old == NULL)
    {
      g_autoptr(GBytes) key = _tandem_identity_random_key (32);
      g_auto(TandemStoreStmt) nb = NULL;

      display_name = default_display_name ();
      colour = g_strdup (palette[g_random_int_range (0, G_N_ELEMENTS (palette))]);
      private_notebook = _tandem_store_random_id ();

      nb = _tandem_store_prepare (self,
                                  "INSERT INTO notebooks (id, name, secret_key, created)"
                                  " VALUES (?1, ?2, ?3, ?4)", error);
      if (nb == NULL)
        goto fail_tx;
      sqlite3_bind_text (nb, 1, private_notebook, -1, SQLITE_STATIC);
      sqlite3_bind_text (nb, 2, PRIVATE_NOTEBOOK_NAME, -1, SQLITE_STATIC);
      _tandem_store_bind_bytes (nb, 3, key);
      sqlite3_bind_int64 (nb, 4, now);
      if (!_tandem_store_step_done (self, nb, "create the private notebook", error))
        goto fail_tx;

      stmt = _tandem_store_prepare (self,
                                    "INSERT INTO identity (id, peer_id, display_name, colour,"
                                    " certificate, private_notebook, instance_token,"
                                    " instance_inode, instance_generation, created)"
                                    " VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)", error);
      if (stmt == NULL)
        goto fail_tx;
      sqlite3_bind_text (stmt, 1, peer_hex, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, display_name, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, colour, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 4, cert_pem, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 5, private_notebook, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 6, token, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 7, inode);
      sqlite3_bind_int64 (stmt, 8, now);
      if (!_tandem_store_step_done (self, stmt, "create the identity", error))
        goto fail_tx;
    }
  else
    {
      display_name = g_strdup (old->display_name);
      colour = g_strdup (old->colour);
      private_notebook = g_strdup (old->private_notebook);

      stmt = _tandem_store_prepare (self,
                                    "UPDATE identity SET peer_id = ?1, certificate = ?2,"
                                    " instance_token = ?3, instance_inode = ?4,"
                                    " instance_generation = 0 WHERE id = 1", error);
      if (stmt == NULL)
        goto fail_tx;
      sqlite3_bind_text (stmt, 1, peer_hex, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, cert_pem, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, token, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 4, inode);
      if (!_tandem_store_step_done (self, stmt, "give the profile a new identity", error))
        goto fail_tx;

      /* The new id has made no events yet; its counters start again, and
       * undo stacks that name the old id's events would undo them as if
       * they were someone else's. */
      rc = sqlite3_exec (self->db,
                         "UPDATE notes SET seq_counter = 0; DELETE FROM note_undo;",
                         NULL, NULL, NULL);
      if (rc != SQLITE_OK)
        {
          _tandem_store_fail (self, error, rc, "give the profile a new identity");
          goto fail_tx;
        }
    }

  if (!_tandem_store_commit (self, error))
    goto fail;

  self->peer_id = peer_id;
  self->peer_id_was_reset = old != NULL;
  self->display_name = g_steal_pointer (&display_name);
  self->colour = g_steal_pointer (&colour);
  self->certificate_pem = g_steal_pointer (&cert_pem);
  self->private_key_pem = g_steal_pointer (&key_pem);
  self->fingerprint = g_steal_pointer (&fingerprint);
  self->private_notebook_id = g_steal_pointer (&private_notebook);
  return TRUE;

fail_tx:
  _tandem_store_rollback (self);
fail:
  explicit_bzero (key_pem, strlen (key_pem));
  return FALSE;
}

static gboolean
use_identity (TandemStore  *self,
              IdentityRow  *row,
              GError      **error)
{
  g_autofree char *key_path = profile_file (self, KEY_FILE_NAME);
  g_autofree char *key_pem = NULL;

  if (!parse_peer_id (row->peer_id, &self->peer_id))
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   "The peer id in %s is damaged", self->db_path);
      return FALSE;
    }

  key_pem = _tandem_identity_read_key (key_path, error);
  if (key_pem == NULL)
    return FALSE;
  if (!_tandem_identity_check_pair (row->certificate, key_pem, key_path, error))
    {
      explicit_bzero (key_pem, strlen (key_pem));
      return FALSE;
    }
  self->fingerprint = _tandem_identity_fingerprint (row->certificate, error);
  if (self->fingerprint == NULL)
    {
      explicit_bzero (key_pem, strlen (key_pem));
      return FALSE;
    }

  self->private_key_pem = g_steal_pointer (&key_pem);
  self->display_name = g_steal_pointer (&row->display_name);
  self->colour = g_steal_pointer (&row->colour);
  self->certificate_pem = g_steal_pointer (&row->certificate);
  self->private_notebook_id = g_steal_pointer (&row->private_notebook);
  return TRUE;
}

/* Bumps the generation in the database, then in the instance file; the
 * order means a crash in between leaves the database ahead, which still
 * matches. Failing to bump only weakens the backup check for one open, so
 * it does not stop the profile from opening (a full disk must not lock
 * the user out of their notes). */
static void
bump_generation (TandemStore *self,
                 gint64       inode)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = profile_file (self, INSTANCE_FILE_NAME);
  g_autofree char *contents = NULL;
  int rc;

  stmt = _tandem_store_prepare (self,
                                "UPDATE identity SET instance_generation = instance_generation + 1,"
                                " instance_inode = ?1 WHERE id = 1"
                                " RETURNING instance_token, instance_generation", &error);
  if (stmt == NULL)
    goto out;
  sqlite3_bind_int64 (stmt, 1, inode);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      _tandem_store_fail (self, &error, rc, "record this start");
      goto out;
    }
  contents = g_strdup_printf ("%s %" G_GINT64_FORMAT "\n",
                              (const char *) sqlite3_column_text (stmt, 0),
                              (gint64) sqlite3_column_int64 (stmt, 1));
  /* RETURNING rows are all computed before the first is returned, but the
   * change is only final once the statement has run to its end. */
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    {
      _tandem_store_fail (self, &error, rc, "record this start");
      goto out;
    }

  g_file_set_contents_full (path, contents, -1,
                            G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                            0600, &error);

out:
  if (error != NULL)
    g_message ("Could not record this start of %s: %s", self->profile_dir, error->message);
}

static gboolean
load_identity (TandemStore  *self,
               GError      **error)
{
  g_auto(IdentityRow) row = { NULL, };
  g_autofree char *key_path = profile_file (self, KEY_FILE_NAME);
  gboolean found = FALSE;
  gint64 inode = 0;

  if (!db_inode (self, &inode, error) ||
      !read_identity_row (self, &row, &found, error))
    return FALSE;

  if (!found)
    {
      if (!new_identity (self, NULL, inode, error))
        return FALSE;
    }
  else if (!instance_matches (self, &row, inode) ||
           !g_file_test (key_path, G_FILE_TEST_EXISTS))
    {
      if (!new_identity (self, &row, inode, error))
        return FALSE;
    }
  else if (!use_identity (self, &row, error))
    return FALSE;

  bump_generation (self, inode);
  return TRUE;
}

/**
 * tandem_store_open:
 * @profile_dir: (nullable): the profile folder; %NULL means
 *   `$TANDEM_PROFILE` if set, else `$XDG_DATA_HOME/tandem`
 * @error: a #TANDEM_STORE_ERROR
 *
 * Opens the profile, creating it (with an identity and the private
 * notebook) the first time, and upgrading a database written by an older
 * Tandem. The profile stays locked against other processes until the store
 * is finalized.
 *
 * Returns: (transfer full) (nullable): the store
 */
TandemStore *
tandem_store_open (const char  *profile_dir,
                   GError     **error)
{
  g_autoptr(TandemStore) self = g_object_new (TANDEM_TYPE_STORE, NULL);
  gint64 version = 0;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (profile_dir != NULL)
    self->profile_dir = g_canonicalize_filename (profile_dir, NULL);
  else
    self->profile_dir = default_profile_dir ();
  self->db_path = profile_file (self, DB_FILE_NAME);

  if (!prepare_profile_dir (self, error) ||
      !lock_profile (self, error) ||
      !open_database (self, &version, error) ||
      !migrate (self, version, error) ||
      !load_identity (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

const char *
tandem_store_get_profile_dir (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  return self->profile_dir;
}

/**
 * tandem_store_get_path:
 *
 * Returns: the database file's path
 */
const char *
tandem_store_get_path (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  return self->db_path;
}

guint64
tandem_store_get_peer_id (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), 0);

  return self->peer_id;
}

gboolean
tandem_store_get_peer_id_was_reset (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);

  return self->peer_id_was_reset;
}

char *
tandem_store_dup_display_name (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  return g_strdup (self->display_name);
}

static gboolean
set_identity_text (TandemStore  *self,
                   const char   *sql,
                   const char   *value,
                   GError      **error)
{
  g_auto(TandemStoreStmt) stmt = _tandem_store_prepare (self, sql, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, value, -1, SQLITE_STATIC);
  return _tandem_store_step_done (self, stmt, "save the identity", error);
}

/**
 * tandem_store_set_display_name:
 * @name: the new name; surrounding white space is dropped, and it must
 *   not be empty or longer than 128 characters
 */
gboolean
tandem_store_set_display_name (TandemStore  *self,
                               const char   *name,
                               GError      **error)
{
  g_autofree char *stripped = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  if (!g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "A name must be valid UTF-8");
      return FALSE;
    }
  stripped = g_strstrip (g_strdup (name));
  if (*stripped == '\0' || g_utf8_strlen (stripped, -1) > DISPLAY_NAME_MAX_CHARS)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "A name must have 1 to %d characters", DISPLAY_NAME_MAX_CHARS);
      return FALSE;
    }

  if (g_strcmp0 (stripped, self->display_name) == 0)
    return TRUE;
  if (!set_identity_text (self, "UPDATE identity SET display_name = ?1 WHERE id = 1", stripped, error))
    return FALSE;

  g_free (self->display_name);
  self->display_name = g_steal_pointer (&stripped);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISPLAY_NAME]);
  return TRUE;
}

char *
tandem_store_dup_colour (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  return g_strdup (self->colour);
}

/**
 * tandem_store_set_colour:
 * @colour: `#rrggbb`; stored in lower case
 */
gboolean
tandem_store_set_colour (TandemStore  *self,
                         const char   *colour,
                         GError      **error)
{
  g_autofree char *lower = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (colour != NULL, FALSE);

  if (strlen (colour) != 7 || colour[0] != '#')
    goto invalid;
  for (int i = 1; i < 7; i++)
    if (!g_ascii_isxdigit (colour[i]))
      goto invalid;

  lower = g_ascii_strdown (colour, -1);
  if (g_strcmp0 (lower, self->colour) == 0)
    return TRUE;
  if (!set_identity_text (self, "UPDATE identity SET colour = ?1 WHERE id = 1", lower, error))
    return FALSE;

  g_free (self->colour);
  self->colour = g_steal_pointer (&lower);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COLOUR]);
  return TRUE;

invalid:
  g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
               "“%s” is not a colour of the form #rrggbb", colour);
  return FALSE;
}

char *
tandem_store_dup_certificate_pem (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  return g_strdup (self->certificate_pem);
}

/**
 * tandem_store_dup_private_key_pem:
 *
 * Returns: (transfer full): the private key, unencrypted PKCS #8 PEM; wipe
 *   it (explicit_bzero()) before freeing it
 */
char *
tandem_store_dup_private_key_pem (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  return g_strdup (self->private_key_pem);
}

/**
 * tandem_store_dup_certificate_fingerprint:
 *
 * Returns: (transfer full): the SHA-256 of the certificate's DER form, 64
 *   lowercase hex digits; what other peers pin
 */
char *
tandem_store_dup_certificate_fingerprint (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  return g_strdup (self->fingerprint);
}

/**
 * tandem_store_get_private_notebook_id:
 *
 * Returns: the id of this install's private notebook, made at first open
 */
const char *
tandem_store_get_private_notebook_id (TandemStore *self)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  return self->private_notebook_id;
}

/* ---- for tests and the benchmark --------------------------------------- */

sqlite3 *
_tandem_store_get_db (TandemStore *self)
{
  return self->db;
}

gboolean
_tandem_store_set_synchronous_full (TandemStore  *self,
                                    gboolean      full,
                                    GError      **error)
{
  return _tandem_store_exec (self, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                             error);
}
