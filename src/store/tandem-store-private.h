/* tandem-store-private.h: what the parts of TandemStore share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <sqlite3.h>

#include "tandem-store.h"

G_BEGIN_DECLS

struct _TandemStore
{
  GObject parent_instance;

  char *profile_dir;
  char *db_path;
  sqlite3 *db;
  GHashTable *stmts;            /* const char *sql (static) -> sqlite3_stmt */
  int lock_fd;

  guint64 peer_id;
  gboolean peer_id_was_reset;
  char *display_name;
  char *colour;
  char *certificate_pem;
  char *private_key_pem;
  char *fingerprint;
  char *private_notebook_id;
};

/* A cached statement, reset and unbound when it goes out of scope:
 * `g_auto(TandemStoreStmt) stmt = _tandem_store_prepare (...)`. */
typedef sqlite3_stmt *TandemStoreStmt;
void          _tandem_store_stmt_release   (sqlite3_stmt *stmt);
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (TandemStoreStmt, _tandem_store_stmt_release, NULL)

sqlite3_stmt *_tandem_store_prepare        (TandemStore  *self,
                                            const char   *sql,
                                            GError      **error);
gboolean      _tandem_store_exec           (TandemStore  *self,
                                            const char   *sql,
                                            GError      **error);
gboolean      _tandem_store_begin          (TandemStore  *self,
                                            GError      **error);
gboolean      _tandem_store_commit         (TandemStore  *self,
                                            GError      **error);
void          _tandem_store_rollback       (TandemStore  *self);
gboolean      _tandem_store_fail           (TandemStore  *self,
                                            GError      **error,
                                            int           rc,
                                            const char   *doing);
gboolean      _tandem_store_step_done      (TandemStore   *self,
                                            sqlite3_stmt  *stmt,
                                            const char    *doing,
                                            GError       **error);
void          _tandem_store_bind_bytes     (sqlite3_stmt *stmt,
                                            int           index,
                                            GBytes       *bytes);
GBytes       *_tandem_store_column_bytes   (sqlite3_stmt *stmt,
                                            int           index);
char         *_tandem_store_random_id      (void);
void          _tandem_store_errno_error    (GError      **error,
                                            int           saved_errno,
                                            const char   *format,
                                            ...) G_GNUC_PRINTF (3, 4);

/* tandem-store-identity.c: key, certificate and key file; GnuTLS and
 * plain files only, no SQLite */
guint64       _tandem_identity_random_peer_id (void);
char         *_tandem_identity_random_hex     (gsize n_bytes);
GBytes       *_tandem_identity_random_key     (gsize n_bytes);
gboolean      _tandem_identity_make        (guint64      peer_id,
                                            char       **cert_pem,
                                            char       **key_pem,
                                            GError     **error);
char         *_tandem_identity_fingerprint (const char  *cert_pem,
                                            GError     **error);
gboolean      _tandem_identity_check_pair  (const char  *cert_pem,
                                            const char  *key_pem,
                                            const char  *key_path,
                                            GError     **error);
gboolean      _tandem_identity_write_key   (const char  *path,
                                            const char  *key_pem,
                                            GError     **error);
char         *_tandem_identity_read_key    (const char  *path,
                                            GError     **error);

/* for tests and the benchmark */
sqlite3      *_tandem_store_get_db              (TandemStore *self);
gboolean      _tandem_store_set_synchronous_full (TandemStore  *self,
                                                  gboolean      full,
                                                  GError      **error);

G_END_DECLS
