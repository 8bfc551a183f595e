/* tandem-store-notes.c: notebooks, members, peer addresses and notes in
 * the store
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The store keeps what it is given and does not look inside it: runs,
 * pending events and undo state are opaque blobs, fields and version
 * vectors are JSON text (checked only for being JSON), so the store needs
 * neither the engine nor a JSON library.
 *
 * A note's history is a compacted log (note_log, one blob) plus the runs
 * committed since (note_tail, one row per commit), so a commit appends a
 * small row instead of rewriting the whole history; compaction folds the
 * tail back into the log. The current text sits in the notes row, before
 * any large column, so showing a note reads the text and nothing else.
 */
#include "tandem-store-private.h"

#include <string.h>

#define NOTEBOOK_KEY_SIZE 32
#define HOST_MAX_BYTES 255
#define ADDRESSES_PER_PEER 4

void
tandem_store_notebook_free (TandemStoreNotebook *notebook)
{
  if (notebook == NULL)
    return;
  g_free (notebook->id);
  g_free (notebook->name);
  g_clear_pointer (&notebook->secret_key, g_bytes_unref);
  g_clear_pointer (&notebook->previous_key, g_bytes_unref);
  g_free (notebook->field_policies);
  g_free (notebook);
}

void
tandem_store_member_free (TandemStoreMember *member)
{
  if (member == NULL)
    return;
  g_free (member->notebook_id);
  g_free (member->name);
  g_free (member->cert_fingerprint);
  g_free (member->last_version);
  g_free (member);
}

void
tandem_store_address_free (TandemStoreAddress *address)
{
  if (address == NULL)
    return;
  g_free (address->host);
  g_free (address);
}

void
tandem_store_note_info_free (TandemStoreNoteInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->id);
  g_free (info->notebook_id);
  g_free (info->fields);
  g_free (info->snippet);
  g_free (info->title);
  g_free (info->colour);
  g_free (info);
}

void
tandem_store_note_free (TandemStoreNote *note)
{
  if (note == NULL)
    return;
  g_free (note->id);
  g_free (note->notebook_id);
  g_free (note->text);
  g_free (note->fields);
  g_clear_pointer (&note->log, g_ptr_array_unref);
  g_clear_pointer (&note->pending, g_ptr_array_unref);
  g_clear_pointer (&note->undo, g_bytes_unref);
  g_free (note);
}

static char *
column_dup_text (sqlite3_stmt *stmt,
                 int           index)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, index));
}

static char *
peer_id_to_hex (guint64 peer_id)
{
  return g_strdup_printf ("%016" G_GINT64_MODIFIER "x", peer_id);
}

/* Ids come from invites and from other peers, so they are checked before
 * they become keys here: 32 lowercase hex digits, as _tandem_store_random_id()
 * makes them. */
static gboolean
is_valid_id (const char *id)
{
  if (id == NULL || strlen (id) != 32)
    return FALSE;
  for (const char *c = id; *c; c++)
    if (!g_ascii_isdigit (*c) && !(*c >= 'a' && *c <= 'f'))
      return FALSE;
  return TRUE;
}

static guint64
peer_id_from_hex (const char *hex)
{
  return g_ascii_strtoull (hex, NULL, 16);
}

static gboolean
not_found (GError     **error,
           const char  *what,
           const char  *id)
{
  g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND,
               "There is no %s with the id %s", what, id);
  return FALSE;
}

/* Whether a row with @id exists, for the SELECT in @sql. */
static gboolean
row_exists (TandemStore  *self,
            const char   *sql,
            const char   *id,
            gboolean     *exists,
            GError      **error)
{
  g_auto(TandemStoreStmt) stmt = _tandem_store_prepare (self, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return _tandem_store_fail (self, error, rc, "read the database");
  *exists = rc == SQLITE_ROW;
  return TRUE;
}

static gboolean
not_a_member (GError     **error,
              const char  *peer_hex,
              const char  *notebook_id)
{
  g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND,
               "Peer %s is not a member of notebook %s", peer_hex, notebook_id);
  return FALSE;
}

static gboolean
check_notebook (TandemStore  *self,
                const char   *id,
                GError      **error)
{
  gboolean exists = FALSE;

  if (!row_exists (self, "SELECT 1 FROM notebooks WHERE id = ?1", id, &exists, error))
    return FALSE;
  if (!exists)
    return not_found (error, "notebook", id);
  return TRUE;
}

static gboolean
check_note (TandemStore  *self,
            const char   *id,
            GError      **error)
{
  gboolean exists = FALSE;

  if (!row_exists (self, "SELECT 1 FROM notes WHERE id = ?1", id, &exists, error))
    return FALSE;
  if (!exists)
    return not_found (error, "note", id);
  return TRUE;
}

/* ---- notebooks --------------------------------------------------------- */

/**
 * tandem_store_add_notebook:
 * @id: 32 lowercase hex digits
 * @secret_key: 32 bytes
 *
 * Adds a notebook made elsewhere, as when joining one by invite. Adding
 * one that is already here fails.
 */
gboolean
tandem_store_add_notebook (TandemStore  *self,
                           const char   *id,
                           const char   *name,
                           GBytes       *secret_key,
                           GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (secret_key != NULL, FALSE);

  if (!is_valid_id (id) || g_bytes_get_size (secret_key) != NOTEBOOK_KEY_SIZE ||
      !g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "A notebook needs a 32-digit hex id, a UTF-8 name and a %d-byte key",
                   NOTEBOOK_KEY_SIZE);
      return FALSE;
    }

  stmt = _tandem_store_prepare (self,
                                "INSERT INTO notebooks (id, name, secret_key, created)"
                                " VALUES (?1, ?2, ?3, ?4)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, name, -1, SQLITE_STATIC);
  _tandem_store_bind_bytes (stmt, 3, secret_key);
  sqlite3_bind_int64 (stmt, 4, g_get_real_time ());
  return _tandem_store_step_done (self, stmt, "add the notebook", error);
}

/**
 * tandem_store_create_notebook:
 *
 * Creates a notebook with a random id and a random 256-bit key.
 *
 * Returns: (transfer full) (nullable): its id
 */
char *
tandem_store_create_notebook (TandemStore  *self,
                              const char   *name,
                              GError      **error)
{
  g_autofree char *id = _tandem_store_random_id ();
  g_autoptr(GBytes) key = _tandem_identity_random_key (NOTEBOOK_KEY_SIZE);

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (!tandem_store_add_notebook (self, id, name, key, error))
    return NULL;
  return g_steal_pointer (&id);
}

static TandemStoreNotebook *
notebook_from_row (sqlite3_stmt *stmt)
{
  TandemStoreNotebook *notebook = g_new0 (TandemStoreNotebook, 1);

  notebook->id = column_dup_text (stmt, 0);
  notebook->name = column_dup_text (stmt, 1);
  notebook->secret_key = _tandem_store_column_bytes (stmt, 2);
  if (sqlite3_column_type (stmt, 3) != SQLITE_NULL)
    notebook->previous_key = _tandem_store_column_bytes (stmt, 3);
  notebook->field_policies = column_dup_text (stmt, 4);
  notebook->created = sqlite3_column_int64 (stmt, 5);
  return notebook;
}

/**
 * tandem_store_list_notebooks:
 *
 * Returns: (transfer full) (element-type TandemStoreNotebook): every
 *   notebook, oldest first (so the private notebook comes first)
 */
GPtrArray *
tandem_store_list_notebooks (TandemStore  *self,
                             GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autoptr(GPtrArray) notebooks = NULL;
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  stmt = _tandem_store_prepare (self,
                                "SELECT id, name, secret_key, previous_key, field_policies, created"
                                " FROM notebooks ORDER BY created, id", error);
  if (stmt == NULL)
    return NULL;

  notebooks = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_store_notebook_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (notebooks, notebook_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      _tandem_store_fail (self, error, rc, "read the notebooks");
      return NULL;
    }
  return g_steal_pointer (&notebooks);
}

/**
 * tandem_store_dup_notebook:
 *
 * Returns: (transfer full) (nullable): the notebook, or %NULL with
 *   %TANDEM_STORE_ERROR_NOT_FOUND
 */
TandemStoreNotebook *
tandem_store_dup_notebook (TandemStore  *self,
                           const char   *id,
                           GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  stmt = _tandem_store_prepare (self,
                                "SELECT id, name, secret_key, previous_key, field_policies, created"
                                " FROM notebooks WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_STATIC);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      not_found (error, "notebook", id);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      _tandem_store_fail (self, error, rc, "read the notebook");
      return NULL;
    }
  return notebook_from_row (stmt);
}

/**
 * tandem_store_set_field_policies:
 * @policies: a JSON object, field name -> policy
 */
gboolean
tandem_store_set_field_policies (TandemStore  *self,
                                 const char   *notebook_id,
                                 const char   *policies,
                                 GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (notebook_id != NULL, FALSE);
  g_return_val_if_fail (policies != NULL, FALSE);

  stmt = _tandem_store_prepare (self,
                                "UPDATE notebooks SET field_policies = ?2 WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, notebook_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, policies, -1, SQLITE_STATIC);
  if (!_tandem_store_step_done (self, stmt, "save the field policies", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    return not_found (error, "notebook", notebook_id);
  return TRUE;
}

/**
 * tandem_store_set_notebook_name:
 * @name: the new name, UTF-8
 *
 * Renames a notebook, as when its owner renamed it elsewhere.
 *
 * Returns: %TRUE on success
 */
gboolean
tandem_store_set_notebook_name (TandemStore  *self,
                                const char   *notebook_id,
                                const char   *name,
                                GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (notebook_id != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  if (!g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "Could not rename notebook %s: the name is not valid UTF-8", notebook_id);
      return FALSE;
    }

  stmt = _tandem_store_prepare (self, "UPDATE notebooks SET name = ?2 WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, notebook_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, name, -1, SQLITE_STATIC);
  if (!_tandem_store_step_done (self, stmt, "rename the notebook", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    return not_found (error, "notebook", notebook_id);
  return TRUE;
}

/**
 * tandem_store_set_notebook_key:
 * @new_key: the notebook's new 32-byte key
 *
 * Rotates the notebook's key: @new_key becomes its key and the key it
 * replaces becomes its #TandemStoreNotebook.previous_key (the one before
 * that is forgotten). Setting the key it already has changes nothing, so
 * hearing of the same rotation twice does not lose the previous key.
 *
 * Returns: %TRUE on success
 */
gboolean
tandem_store_set_notebook_key (TandemStore  *self,
                               const char   *notebook_id,
                               GBytes       *new_key,
                               GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (notebook_id != NULL, FALSE);
  g_return_val_if_fail (new_key != NULL, FALSE);

  if (g_bytes_get_size (new_key) != NOTEBOOK_KEY_SIZE)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "Could not change the key of notebook %s: a key has %d bytes, not %"
                   G_GSIZE_FORMAT, notebook_id, NOTEBOOK_KEY_SIZE, g_bytes_get_size (new_key));
      return FALSE;
    }

  if (!check_notebook (self, notebook_id, error))
    return FALSE;

  stmt = _tandem_store_prepare (self,
                                "UPDATE notebooks SET previous_key = secret_key, secret_key = ?2"
                                " WHERE id = ?1 AND secret_key <> ?2", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, notebook_id, -1, SQLITE_STATIC);
  _tandem_store_bind_bytes (stmt, 2, new_key);
  return _tandem_store_step_done (self, stmt, "change the notebook's key", error);
}

/* ---- members ----------------------------------------------------------- */

/* For a row of peer_id, name, cert_fingerprint, last_version. */
static TandemStoreMember *
member_from_row (sqlite3_stmt *stmt,
                 const char   *notebook_id)
{
  TandemStoreMember *member = g_new0 (TandemStoreMember, 1);

  member->notebook_id = g_strdup (notebook_id);
  member->peer_id = peer_id_from_hex ((const char *) sqlite3_column_text (stmt, 0));
  member->name = column_dup_text (stmt, 1);
  member->cert_fingerprint = column_dup_text (stmt, 2);
  member->last_version = column_dup_text (stmt, 3);
  return member;
}

/**
 * tandem_store_add_member:
 *
 * Adds a member to a notebook, or updates its name and fingerprint if it is
 * already one. Whether a new fingerprint may replace an old one is for the
 * caller (the membership proof) to decide, not the store.
 */
gboolean
tandem_store_add_member (TandemStore  *self,
                         const char   *notebook_id,
                         guint64       peer_id,
                         const char   *name,
                         const char   *cert_fingerprint,
                         GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autofree char *peer_hex = peer_id_to_hex (peer_id);

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (notebook_id != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (cert_fingerprint != NULL, FALSE);

  if (!check_notebook (self, notebook_id, error))
    return FALSE;

  stmt = _tandem_store_prepare (self, "SELECT 1 FROM removed_members WHERE notebook_id = ?1 AND peer_id = ?2",
                                error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, notebook_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, peer_hex, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "Peer %s was removed from notebook %s and is not taken back", peer_hex, notebook_id);
      return FALSE;
    }
  g_clear_pointer (&stmt, _tandem_store_stmt_release);

  stmt = _tandem_store_prepare (self,
                                "INSERT INTO members (notebook_id, peer_id, name, cert_fingerprint)"
                                " VALUES (?1, ?2, ?3, ?4)"
                                " ON CONFLICT (notebook_id, peer_id) DO UPDATE"
                                " SET name = excluded.name, cert_fingerprint = excluded.cert_fingerprint",
                                error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, notebook_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, peer_hex, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, cert_fingerprint, -1, SQLITE_STATIC);
  return _tandem_store_step_done (self, stmt, "save the member", error);
}

/**
 * tandem_store_remove_member:
 *
 * Removes a peer from a notebook's members, with the version last heard
 * from it, for good: tandem_store_add_member() refuses it from now on.
 * Where it was seen stays: it may be a member of other notebooks.
 *
 * Returns: %TRUE on success; %TANDEM_STORE_ERROR_NOT_FOUND if it was not a
 *   member
 */
gboolean
tandem_store_remove_member (TandemStore  *self,
                            const char   *notebook_id,
                            guint64       peer_id,
                            GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autofree char *peer_hex = peer_id_to_hex (peer_id);

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (notebook_id != NULL, FALSE);

  stmt = _tandem_store_prepare (self,
                                "DELETE FROM members WHERE notebook_id = ?1 AND peer_id = ?2", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, notebook_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, peer_hex, -1, SQLITE_STATIC);
  if (!_tandem_store_step_done (self, stmt, "remove the member", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    return not_a_member (error, peer_hex, notebook_id);
  g_clear_pointer (&stmt, _tandem_store_stmt_release);
  stmt = _tandem_store_prepare (self, "INSERT OR IGNORE INTO removed_members (notebook_id, peer_id) VALUES (?1, ?2)",
                                error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, notebook_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, peer_hex, -1, SQLITE_STATIC);
  return _tandem_store_step_done (self, stmt, "remember the removal", error);
}

/**
 * tandem_store_dup_member:
 *
 * Returns: (transfer full) (nullable): the member, or %NULL with
 *   %TANDEM_STORE_ERROR_NOT_FOUND if the peer is not a member of the
 *   notebook (or there is no such notebook)
 */
TandemStoreMember *
tandem_store_dup_member (TandemStore  *self,
                         const char   *notebook_id,
                         guint64       peer_id,
                         GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autofree char *peer_hex = peer_id_to_hex (peer_id);
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (notebook_id != NULL, NULL);

  stmt = _tandem_store_prepare (self,
                                "SELECT peer_id, name, cert_fingerprint, last_version"
                                " FROM members WHERE notebook_id = ?1 AND peer_id = ?2", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, notebook_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, peer_hex, -1, SQLITE_STATIC);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      not_a_member (error, peer_hex, notebook_id);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      _tandem_store_fail (self, error, rc, "read the member");
      return NULL;
    }
  return member_from_row (stmt, notebook_id);
}

/**
 * tandem_store_list_members:
 *
 * Returns: (transfer full) (element-type TandemStoreMember): the notebook's
 *   members by peer id
 */
GPtrArray *
tandem_store_list_members (TandemStore  *self,
                           const char   *notebook_id,
                           GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autoptr(GPtrArray) members = NULL;
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (notebook_id != NULL, NULL);

  if (!check_notebook (self, notebook_id, error))
    return NULL;

  stmt = _tandem_store_prepare (self,
                                "SELECT peer_id, name, cert_fingerprint, last_version"
                                " FROM members WHERE notebook_id = ?1 ORDER BY peer_id", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, notebook_id, -1, SQLITE_STATIC);

  members = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_store_member_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (members, member_from_row (stmt, notebook_id));
  if (rc != SQLITE_DONE)
    {
      _tandem_store_fail (self, error, rc, "read the members");
      return NULL;
    }
  return g_steal_pointer (&members);
}

/**
 * tandem_store_update_member_version:
 * @version: the member's version vector as JSON
 */
gboolean
tandem_store_update_member_version (TandemStore  *self,
                                    const char   *notebook_id,
                                    guint64       peer_id,
                                    const char   *version,
                                    GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autofree char *peer_hex = peer_id_to_hex (peer_id);

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (notebook_id != NULL, FALSE);
  g_return_val_if_fail (version != NULL, FALSE);

  stmt = _tandem_store_prepare (self,
                                "UPDATE members SET last_version = ?3"
                                " WHERE notebook_id = ?1 AND peer_id = ?2", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, notebook_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, peer_hex, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, version, -1, SQLITE_STATIC);
  if (!_tandem_store_step_done (self, stmt, "save the member's version", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    return not_a_member (error, peer_hex, notebook_id);
  return TRUE;
}

/* ---- where peers were seen --------------------------------------------- */

static gboolean
remember_address_in_tx (TandemStore  *self,
                        const char   *peer_hex,
                        const char   *host,
                        guint16       port,
                        GError      **error)
{
  g_auto(TandemStoreStmt) upsert = NULL;
  g_auto(TandemStoreStmt) prune = NULL;

  upsert = _tandem_store_prepare (self,
                                  "INSERT INTO peer_addresses (peer_id, host, port, last_seen)"
                                  " VALUES (?1, ?2, ?3, ?4)"
                                  " ON CONFLICT (peer_id, host, port) DO UPDATE"
                                  " SET last_seen = excluded.last_seen", error);
  if (upsert == NULL)
    return FALSE;
  sqlite3_bind_text (upsert, 1, peer_hex, -1, SQLITE_STATIC);
  sqlite3_bind_text (upsert, 2, host, -1, SQLITE_STATIC);
  sqlite3_bind_int (upsert, 3, port);
  sqlite3_bind_int64 (upsert, 4, g_get_real_time ());
  if (!_tandem_store_step_done (self, upsert, "remember where the peer was seen", error))
    return FALSE;

  /* The address just seen always stays, even if the clock went back or
   * another one has the same time; of the others, the newest stay. */
  prune = _tandem_store_prepare (self,
                                 "DELETE FROM peer_addresses"
                                 " WHERE peer_id = ?1 AND NOT (host = ?2 AND port = ?3)"
                                 " AND rowid NOT IN (SELECT rowid FROM peer_addresses"
                                 "                   WHERE peer_id = ?1 AND NOT (host = ?2 AND port = ?3)"
                                 "                   ORDER BY last_seen DESC, rowid DESC LIMIT ?4)",
                                 error);
  if (prune == NULL)
    return FALSE;
  sqlite3_bind_text (prune, 1, peer_hex, -1, SQLITE_STATIC);
  sqlite3_bind_text (prune, 2, host, -1, SQLITE_STATIC);
  sqlite3_bind_int (prune, 3, port);
  sqlite3_bind_int (prune, 4, ADDRESSES_PER_PEER - 1);
  return _tandem_store_step_done (self, prune, "remember where the peer was seen", error);
}

/**
 * tandem_store_remember_address:
 * @host: a host name or IP address, 1 to 255 bytes of UTF-8; kept as given
 * @port: a TCP port, not 0
 *
 * Records that @peer_id was reached at @host and @port just now. The 4
 * addresses where each peer was seen most recently are kept; remembering a
 * fifth forgets the one seen longest ago.
 *
 * Returns: %TRUE on success
 */
gboolean
tandem_store_remember_address (TandemStore  *self,
                               guint64       peer_id,
                               const char   *host,
                               guint16       port,
                               GError      **error)
{
  g_autofree char *peer_hex = peer_id_to_hex (peer_id);

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (host != NULL, FALSE);

  if (*host == '\0' || strlen (host) > HOST_MAX_BYTES || !g_utf8_validate (host, -1, NULL))
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "Could not remember where peer %s was seen: a host must have 1 to %d bytes"
                   " of UTF-8", peer_hex, HOST_MAX_BYTES);
      return FALSE;
    }
  if (port == 0)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "Could not remember where peer %s was seen: port 0 is not a port", peer_hex);
      return FALSE;
    }

  if (!_tandem_store_begin (self, error))
    return FALSE;
  if (!remember_address_in_tx (self, peer_hex, host, port, error))
    {
      _tandem_store_rollback (self);
      return FALSE;
    }
  return _tandem_store_commit (self, error);
}

/**
 * tandem_store_list_addresses:
 *
 * Returns: (transfer full) (element-type TandemStoreAddress): every
 *   remembered address of every peer, the most recently seen first
 */
GPtrArray *
tandem_store_list_addresses (TandemStore  *self,
                             GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  stmt = _tandem_store_prepare (self,
                                "SELECT peer_id, host, port, last_seen FROM peer_addresses"
                                " ORDER BY last_seen DESC, rowid DESC", error);
  if (stmt == NULL)
    return NULL;

  addresses = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_store_address_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TandemStoreAddress *address = g_new0 (TandemStoreAddress, 1);

      address->peer_id = peer_id_from_hex ((const char *) sqlite3_column_text (stmt, 0));
      address->host = column_dup_text (stmt, 1);
      address->port = sqlite3_column_int (stmt, 2);
      address->last_seen = sqlite3_column_int64 (stmt, 3);
      g_ptr_array_add (addresses, address);
    }
  if (rc != SQLITE_DONE)
    {
      _tandem_store_fail (self, error, rc, "read where peers were seen");
      return NULL;
    }
  return g_steal_pointer (&addresses);
}

/* ---- notes ------------------------------------------------------------- */

/* Creates an empty note with the given (valid) id in the notebook, unless
 * it is already there. */
static gboolean
insert_note (TandemStore  *self,
             const char   *notebook_id,
             const char   *note_id,
             GError      **error)
{
  g_auto(TandemStoreStmt) find = NULL;
  g_auto(TandemStoreStmt) stmt = NULL;
  int rc;

  if (!check_notebook (self, notebook_id, error))
    return FALSE;

  find = _tandem_store_prepare (self, "SELECT notebook_id FROM notes WHERE id = ?1", error);
  if (find == NULL)
    return FALSE;
  sqlite3_bind_text (find, 1, note_id, -1, SQLITE_STATIC);
  rc = sqlite3_step (find);
  if (rc == SQLITE_ROW)
    {
      const char *owner = (const char *) sqlite3_column_text (find, 0);

      if (g_strcmp0 (owner, notebook_id) == 0)
        return TRUE;
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "Could not add note %s to notebook %s: the note belongs to another notebook, %s",
                   note_id, notebook_id, owner);
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    return _tandem_store_fail (self, error, rc, "read the notes");

  stmt = _tandem_store_prepare (self,
                                "INSERT INTO notes (id, notebook_id, created, updated)"
                                " VALUES (?1, ?2, ?3, ?3)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, notebook_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
  return _tandem_store_step_done (self, stmt, "create the note", error);
}

/**
 * tandem_store_create_note:
 *
 * Creates an empty note with a random id: no text, `{}` fields, no log,
 * sequence counter 0.
 *
 * Returns: (transfer full) (nullable): its id
 */
char *
tandem_store_create_note (TandemStore  *self,
                          const char   *notebook_id,
                          GError      **error)
{
  g_autofree char *id = _tandem_store_random_id ();

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (notebook_id != NULL, NULL);

  if (!insert_note (self, notebook_id, id, error))
    return NULL;
  return g_steal_pointer (&id);
}

/**
 * tandem_store_add_note:
 * @note_id: 32 lowercase hex digits
 *
 * Creates an empty note, as tandem_store_create_note() does, with an id
 * made elsewhere: a note another peer created, heard of over the network.
 * Adding a note that is already in @notebook_id changes nothing; one that
 * is in another notebook is refused.
 *
 * Returns: %TRUE when the note is in the notebook
 */
gboolean
tandem_store_add_note (TandemStore  *self,
                       const char   *notebook_id,
                       const char   *note_id,
                       GError      **error)
{
  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (notebook_id != NULL, FALSE);
  g_return_val_if_fail (note_id != NULL, FALSE);

  if (!is_valid_id (note_id))
    {
      /* escaped: it came from another peer and may be anything */
      g_autofree char *shown = g_strescape (note_id, NULL);

      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "Could not add a note to notebook %s: “%s” is not a note id"
                   " (32 lowercase hex digits)", notebook_id, shown);
      return FALSE;
    }
  return insert_note (self, notebook_id, note_id, error);
}

#define NOTE_INFO_COLUMNS \
  "SELECT id, notebook_id, created, updated, coalesce (json_extract (fields, '$.trashed'), 0)," \
  " fields, substr (text, 1, 160)," \
  " CASE json_type (fields, '$.title') WHEN 'text' THEN json_extract (fields, '$.title') END," \
  " CASE json_type (fields, '$.colour') WHEN 'text' THEN json_extract (fields, '$.colour') END," \
  " json_type (fields, '$.pinned') IS 'true'" \
  " FROM notes"

/* a row of NOTE_INFO_COLUMNS */
static TandemStoreNoteInfo *
note_info_from_row (sqlite3_stmt *stmt)
{
  TandemStoreNoteInfo *info = g_new0 (TandemStoreNoteInfo, 1);

  info->id = column_dup_text (stmt, 0);
  info->notebook_id = column_dup_text (stmt, 1);
  info->created = sqlite3_column_int64 (stmt, 2);
  info->updated = sqlite3_column_int64 (stmt, 3);
  info->trashed = sqlite3_column_int64 (stmt, 4);
  info->fields = column_dup_text (stmt, 5);
  info->snippet = column_dup_text (stmt, 6);
  info->title = column_dup_text (stmt, 7);
  info->colour = column_dup_text (stmt, 8);
  info->pinned = sqlite3_column_int (stmt, 9) != 0;
  return info;
}

/**
 * tandem_store_list_notes:
 *
 * Returns: (transfer full) (element-type TandemStoreNoteInfo): the
 *   notebook's notes, most recently updated first
 */
GPtrArray *
tandem_store_list_notes (TandemStore  *self,
                         const char   *notebook_id,
                         GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autoptr(GPtrArray) notes = NULL;
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (notebook_id != NULL, NULL);

  if (!check_notebook (self, notebook_id, error))
    return NULL;

  stmt = _tandem_store_prepare (self, NOTE_INFO_COLUMNS " WHERE notebook_id = ?1 ORDER BY updated DESC, id", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, notebook_id, -1, SQLITE_STATIC);

  notes = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_store_note_info_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (notes, note_info_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      _tandem_store_fail (self, error, rc, "read the notes");
      return NULL;
    }
  return g_steal_pointer (&notes);
}

/**
 * tandem_store_dup_note_info:
 *
 * What tandem_store_list_notes() tells of one note, for a list that follows
 * a few notes' changes without reading them all again.
 *
 * Returns: (transfer full) (nullable): the note's info, or %NULL with
 *   TANDEM_STORE_ERROR_NOT_FOUND when there is no such note
 */
TandemStoreNoteInfo *
tandem_store_dup_note_info (TandemStore  *self,
                            const char   *note_id,
                            GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (note_id != NULL, NULL);

  stmt = _tandem_store_prepare (self, NOTE_INFO_COLUMNS " WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return note_info_from_row (stmt);
  if (rc == SQLITE_DONE)
    g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND, "No note %s", note_id);
  else
    _tandem_store_fail (self, error, rc, "read the note");
  return NULL;
}

void
tandem_store_version_free (TandemStoreVersion *version)
{
  if (version == NULL)
    return;
  g_free (version->authors);
  g_free (version->name);
  g_free (version);
}

/**
 * tandem_store_list_versions:
 *
 * Returns: (transfer full) (element-type TandemStoreVersion): the note's
 *   versions, oldest first
 */
GPtrArray *
tandem_store_list_versions (TandemStore  *self,
                            const char   *note_id,
                            GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autoptr(GPtrArray) versions = NULL;
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);

  if (!check_note (self, note_id, error))
    return NULL;
  stmt = _tandem_store_prepare (self,
                                "SELECT n_events, time, authors, name FROM note_versions"
                                " WHERE note_id = ?1 ORDER BY n_events", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);
  versions = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_store_version_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TandemStoreVersion *v = g_new0 (TandemStoreVersion, 1);

      v->n_events = sqlite3_column_int64 (stmt, 0);
      v->time = sqlite3_column_int64 (stmt, 1);
      v->authors = column_dup_text (stmt, 2);
      v->name = column_dup_text (stmt, 3);
      g_ptr_array_add (versions, v);
    }
  if (rc != SQLITE_DONE)
    {
      _tandem_store_fail (self, error, rc, "read the versions");
      return NULL;
    }
  return g_steal_pointer (&versions);
}

/**
 * tandem_store_name_version:
 * @name: (nullable): the snapshot's name; %NULL deletes the snapshot (the
 *   version stays, unnamed, until thinned)
 *
 * Names the version made of the note's first @n_events events, so that
 * thinning keeps it.
 *
 * Returns: %TRUE on success
 */
gboolean
tandem_store_name_version (TandemStore  *self,
                           const char   *note_id,
                           guint64       n_events,
                           const char   *name,
                           GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);

  if (!check_note (self, note_id, error))
    return FALSE;
  stmt = _tandem_store_prepare (self,
                                "INSERT INTO note_versions (note_id, n_events, time, name)"
                                " SELECT ?1, ?2, ?3, ?4 FROM notes WHERE id = ?1 AND log_events >= ?2"
                                " ON CONFLICT (note_id, n_events) DO UPDATE SET name = excluded.name",
                                error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, (gint64) n_events);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
  if (name != NULL)
    sqlite3_bind_text (stmt, 4, name, -1, SQLITE_STATIC);
  if (!_tandem_store_step_done (self, stmt, "name a version", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND,
                   "Note %s has no version of %" G_GUINT64_FORMAT " events", note_id, n_events);
      return FALSE;
    }
  return TRUE;
}

/**
 * tandem_store_thin_versions:
 * @older_than: unnamed versions committed before this (microseconds since
 *   1970) go
 * @n_removed: (out) (optional): how many went
 *
 * The history itself stays whole; only the marks to browse it go, so old
 * stretches show as fewer, longer steps. Named snapshots stay.
 *
 * Returns: %TRUE on success
 */
gboolean
tandem_store_thin_versions (TandemStore  *self,
                            gint64        older_than,
                            guint        *n_removed,
                            GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);

  stmt = _tandem_store_prepare (self, "DELETE FROM note_versions WHERE name IS NULL AND time < ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, older_than);
  if (!_tandem_store_step_done (self, stmt, "thin the history", error))
    return FALSE;
  if (n_removed != NULL)
    *n_removed = sqlite3_changes (self->db);
  return TRUE;
}

/**
 * tandem_store_purge_trash:
 * @trashed_before: notes trashed at or before this time (seconds since
 *   1970) go; the caller chooses the grace period
 * @n_purged: (out) (optional): how many went
 *
 * Deletes the notes that have been in the trash long enough, with their
 * history, for good. A note restored since (its `trashed` field unset) is
 * not in the trash and stays.
 *
 * Returns: %TRUE on success
 */
gboolean
tandem_store_purge_trash (TandemStore  *self,
                          gint64        trashed_before,
                          guint        *n_purged,
                          GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);

  stmt = _tandem_store_prepare (self,
                                "DELETE FROM notes WHERE json_extract (fields, '$.trashed') > 0"
                                " AND json_extract (fields, '$.trashed') <= ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, trashed_before);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return _tandem_store_fail (self, error, rc, "empty the trash");
  if (n_purged != NULL)
    *n_purged = sqlite3_changes (_tandem_store_get_db (self));
  return TRUE;
}

static gboolean
commit_note_in_tx (TandemStore                  *self,
                   const char                   *note_id,
                   const TandemStoreNoteUpdate  *update,
                   const char                   *doing,
                   GError                      **error)
{
  if (!check_note (self, note_id, error))
    return FALSE;

  if (update->runs != NULL)
    {
      g_auto(TandemStoreStmt) stmt = NULL;

      stmt = _tandem_store_prepare (self,
                                    "INSERT INTO note_tail (note_id, n, runs)"
                                    " VALUES (?1, (SELECT coalesce (max (n) + 1, 0)"
                                    "              FROM note_tail WHERE note_id = ?1), ?2)",
                                    error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);
      _tandem_store_bind_bytes (stmt, 2, update->runs);
      if (!_tandem_store_step_done (self, stmt, doing, error))
        return FALSE;
    }

  if (update->runs != NULL && update->authors != NULL)
    {
      g_auto(TandemStoreStmt) stmt = NULL;

      stmt = _tandem_store_prepare (self,
                                    "INSERT OR REPLACE INTO note_versions (note_id, n_events, time, authors)"
                                    " VALUES (?1, (SELECT log_events FROM notes WHERE id = ?1) + ?2, ?3, ?4)",
                                    error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 2, (gint64) update->n_events);
      sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
      sqlite3_bind_text (stmt, 4, update->authors, -1, SQLITE_STATIC);
      if (!_tandem_store_step_done (self, stmt, doing, error))
        return FALSE;
    }

  if (update->pending != NULL)
    {
      g_auto(TandemStoreStmt) clear = NULL;

      clear = _tandem_store_prepare (self, "DELETE FROM note_pending WHERE note_id = ?1", error);
      if (clear == NULL)
        return FALSE;
      sqlite3_bind_text (clear, 1, note_id, -1, SQLITE_STATIC);
      if (!_tandem_store_step_done (self, clear, doing, error))
        return FALSE;

      for (guint i = 0; i < update->pending->len; i++)
        {
          g_auto(TandemStoreStmt) add = NULL;

          add = _tandem_store_prepare (self,
                                       "INSERT INTO note_pending (note_id, n, event)"
                                       " VALUES (?1, ?2, ?3)", error);
          if (add == NULL)
            return FALSE;
          sqlite3_bind_text (add, 1, note_id, -1, SQLITE_STATIC);
          sqlite3_bind_int64 (add, 2, i);
          _tandem_store_bind_bytes (add, 3, g_ptr_array_index (update->pending, i));
          if (!_tandem_store_step_done (self, add, doing, error))
            return FALSE;
        }
    }

  if (update->undo != NULL)
    {
      g_auto(TandemStoreStmt) stmt = NULL;

      stmt = _tandem_store_prepare (self,
                                    "INSERT INTO note_undo (note_id, data) VALUES (?1, ?2)"
                                    " ON CONFLICT (note_id) DO UPDATE SET data = excluded.data",
                                    error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);
      _tandem_store_bind_bytes (stmt, 2, update->undo);
      if (!_tandem_store_step_done (self, stmt, doing, error))
        return FALSE;
    }

  /* Last, and with the counter check in the statement itself: a counter
   * that went back would let this peer reuse event ids it already sent. */
  {
    g_auto(TandemStoreStmt) stmt = NULL;

    stmt = _tandem_store_prepare (self,
                                  "UPDATE notes SET text = coalesce (?2, text),"
                                  " fields = coalesce (?3, fields),"
                                  " log_events = log_events + ?4,"
                                  " seq_counter = ?5, updated = ?6"
                                  " WHERE id = ?1 AND seq_counter <= ?5", error);
    if (stmt == NULL)
      return FALSE;
    sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);
    if (update->text != NULL)
      sqlite3_bind_text (stmt, 2, update->text, -1, SQLITE_STATIC);
    if (update->fields != NULL)
      sqlite3_bind_text (stmt, 3, update->fields, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 4, (gint64) update->n_events);
    sqlite3_bind_int64 (stmt, 5, (gint64) update->seq_counter);
    sqlite3_bind_int64 (stmt, 6, g_get_real_time ());
    if (!_tandem_store_step_done (self, stmt, doing, error))
      return FALSE;
    if (sqlite3_changes (self->db) == 0)
      {
        g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                     "Could not save note %s: its sequence counter would go back to %"
                     G_GUINT64_FORMAT, note_id, update->seq_counter);
        return FALSE;
      }
  }

  return TRUE;
}

/**
 * tandem_store_commit_note:
 * @update: what changed
 *
 * Writes @update in one transaction: after a crash, a full disk or any
 * error, either all of it is in the database or none of it is. When this
 * returns %TRUE the change is on disk, so events that use @update's
 * sequence numbers may leave the process.
 */
gboolean
tandem_store_commit_note (TandemStore                  *self,
                          const char                   *note_id,
                          const TandemStoreNoteUpdate  *update,
                          GError                      **error)
{
  g_autofree char *doing = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (note_id != NULL, FALSE);
  g_return_val_if_fail (update != NULL, FALSE);
  g_return_val_if_fail (update->seq_counter <= G_MAXINT64, FALSE);
  g_return_val_if_fail (update->n_events <= G_MAXINT64, FALSE);

  doing = g_strdup_printf ("save note %s", note_id);
  if (update->text != NULL && !g_utf8_validate (update->text, -1, NULL))
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_FAILED,
                   "Could not save note %s: its text is not valid UTF-8", note_id);
      return FALSE;
    }

  if (!_tandem_store_begin (self, error))
    return FALSE;
  if (!commit_note_in_tx (self, note_id, update, doing, error))
    {
      _tandem_store_rollback (self);
      return FALSE;
    }
  return _tandem_store_commit (self, error);
}

/**
 * tandem_store_load_note_text:
 *
 * Reads only the note's current text, not its history: what showing a note
 * needs, however long its history is.
 *
 * Returns: (transfer full) (nullable): the text
 */
char *
tandem_store_load_note_text (TandemStore  *self,
                             const char   *note_id,
                             GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (TANDEM_IS_STORE (self), NULL);
  g_return_val_if_fail (note_id != NULL, NULL);

  stmt = _tandem_store_prepare (self, "SELECT text FROM notes WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      not_found (error, "note", note_id);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      _tandem_store_fail (self, error, rc, "read the note");
      return NULL;
    }
  return column_dup_text (stmt, 0);
}

/* Appends every blob the statement returns (one column) to @blobs. */
static gboolean
collect_blobs (TandemStore   *self,
               const char    *sql,
               const char    *note_id,
               GPtrArray     *blobs,
               guint         *n_found,
               GError       **error)
{
  g_auto(TandemStoreStmt) stmt = _tandem_store_prepare (self, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);

  *n_found = 0;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_ptr_array_add (blobs, _tandem_store_column_bytes (stmt, 0));
      (*n_found)++;
    }
  if (rc != SQLITE_DONE)
    return _tandem_store_fail (self, error, rc, "read the note");
  return TRUE;
}

static gboolean
load_note_in_tx (TandemStore      *self,
                 const char       *note_id,
                 TandemStoreNote  *note,
                 GError          **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;
  g_autoptr(GPtrArray) undo = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  guint n_found = 0;
  int rc;

  stmt = _tandem_store_prepare (self,
                                "SELECT notebook_id, created, updated, text, fields,"
                                " log_events, seq_counter FROM notes WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return not_found (error, "note", note_id);
  if (rc != SQLITE_ROW)
    return _tandem_store_fail (self, error, rc, "read the note");

  note->id = g_strdup (note_id);
  note->notebook_id = column_dup_text (stmt, 0);
  note->created = sqlite3_column_int64 (stmt, 1);
  note->updated = sqlite3_column_int64 (stmt, 2);
  note->text = column_dup_text (stmt, 3);
  note->fields = column_dup_text (stmt, 4);
  note->log_events = sqlite3_column_int64 (stmt, 5);
  note->seq_counter = sqlite3_column_int64 (stmt, 6);

  note->log = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  note->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  if (!collect_blobs (self, "SELECT log FROM note_log WHERE note_id = ?1",
                      note_id, note->log, &n_found, error) ||
      !collect_blobs (self, "SELECT runs FROM note_tail WHERE note_id = ?1 ORDER BY n",
                      note_id, note->log, &note->n_tail, error) ||
      !collect_blobs (self, "SELECT event FROM note_pending WHERE note_id = ?1 ORDER BY n",
                      note_id, note->pending, &n_found, error) ||
      !collect_blobs (self, "SELECT data FROM note_undo WHERE note_id = ?1",
                      note_id, undo, &n_found, error))
    return FALSE;

  if (undo->len > 0)
    note->undo = g_bytes_ref (g_ptr_array_index (undo, 0));

  return TRUE;
}

/**
 * tandem_store_load_note:
 * @out: (out) (transfer full): the note
 *
 * Reads everything stored for a note, from one consistent snapshot.
 */
gboolean
tandem_store_load_note (TandemStore      *self,
                        const char       *note_id,
                        TandemStoreNote **out,
                        GError          **error)
{
  g_autoptr(TandemStoreNote) note = g_new0 (TandemStoreNote, 1);

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (note_id != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  /* A read transaction, so the parts come from one version of the note. */
  if (!_tandem_store_exec (self, "BEGIN", error))
    return FALSE;
  if (!load_note_in_tx (self, note_id, note, error))
    {
      _tandem_store_rollback (self);
      return FALSE;
    }
  if (!_tandem_store_commit (self, error))
    return FALSE;

  *out = g_steal_pointer (&note);
  return TRUE;
}

/**
 * tandem_store_compact_note:
 * @full_log: the whole history, replacing the compacted log and every run
 *   committed since; it must include every run committed so far
 * @n_events: how many events @full_log holds
 *
 * Replaces the note's log and tail in one transaction.
 */
gboolean
tandem_store_compact_note (TandemStore  *self,
                           const char   *note_id,
                           GBytes       *full_log,
                           guint64       n_events,
                           GError      **error)
{
  g_auto(TandemStoreStmt) log = NULL;
  g_auto(TandemStoreStmt) tail = NULL;
  g_auto(TandemStoreStmt) count = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (note_id != NULL, FALSE);
  g_return_val_if_fail (full_log != NULL, FALSE);
  g_return_val_if_fail (n_events <= G_MAXINT64, FALSE);

  if (!_tandem_store_begin (self, error))
    return FALSE;
  if (!check_note (self, note_id, error))
    goto fail;

  log = _tandem_store_prepare (self,
                               "INSERT INTO note_log (note_id, log) VALUES (?1, ?2)"
                               " ON CONFLICT (note_id) DO UPDATE SET log = excluded.log", error);
  if (log == NULL)
    goto fail;
  sqlite3_bind_text (log, 1, note_id, -1, SQLITE_STATIC);
  _tandem_store_bind_bytes (log, 2, full_log);
  if (!_tandem_store_step_done (self, log, "compact the note's history", error))
    goto fail;

  tail = _tandem_store_prepare (self, "DELETE FROM note_tail WHERE note_id = ?1", error);
  if (tail == NULL)
    goto fail;
  sqlite3_bind_text (tail, 1, note_id, -1, SQLITE_STATIC);
  if (!_tandem_store_step_done (self, tail, "compact the note's history", error))
    goto fail;

  count = _tandem_store_prepare (self, "UPDATE notes SET log_events = ?2 WHERE id = ?1", error);
  if (count == NULL)
    goto fail;
  sqlite3_bind_text (count, 1, note_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (count, 2, (gint64) n_events);
  if (!_tandem_store_step_done (self, count, "compact the note's history", error))
    goto fail;

  return _tandem_store_commit (self, error);

fail:
  _tandem_store_rollback (self);
  return FALSE;
}

/**
 * tandem_store_delete_note:
 *
 * Deletes a note and everything kept of it, for good. For a note that was
 * made a moment ago by a message then refused; users' notes go through the
 * trash (tandem_store_purge_trash()).
 *
 * Returns: %TRUE on success; %TANDEM_STORE_ERROR_NOT_FOUND if there is no
 *   such note
 */
gboolean
tandem_store_delete_note (TandemStore  *self,
                          const char   *note_id,
                          GError      **error)
{
  g_auto(TandemStoreStmt) stmt = NULL;

  g_return_val_if_fail (TANDEM_IS_STORE (self), FALSE);
  g_return_val_if_fail (note_id != NULL, FALSE);

  stmt = _tandem_store_prepare (self, "DELETE FROM notes WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, note_id, -1, SQLITE_STATIC);
  if (!_tandem_store_step_done (self, stmt, "delete the note", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_NOT_FOUND,
                   "No note has the id %s in %s", note_id, tandem_store_get_path (self));
      return FALSE;
    }
  return TRUE;
}
