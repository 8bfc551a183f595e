/* tandem-saved-note.c: a note kept in a profile's store
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Ties a TandemNote to its row in the store. A commit writes, in one
 * transaction, the events made or received since the last commit, the
 * text they make (so opening the note needs no replay), the fields, the
 * causal buffer, the undo stacks and this peer's sequence counter. Callers commit before they send an
 * event or tell anyone it is saved, so nothing reported saved can be lost
 * and no sequence number can be handed out twice.
 */
#include "tandem-saved-note.h"

#include "tandem-event-codec.h"

/* Beyond this many appended pieces, the next commit rewrites the history
 * as one, so that loading stays a handful of reads. */
#define MAX_TAIL_PIECES 64

struct _TandemSavedNote
{
  GObject parent_instance;

  TandemStore *store;
  char *id;
  TandemNote *note;
  guint saved_events;          /* the events of @note already in the store */
  guint n_tail;
  gboolean pending_dirty;      /* the causal buffer changed since the commit */
};

G_DEFINE_FINAL_TYPE (TandemSavedNote, tandem_saved_note, G_TYPE_OBJECT)

static void
tandem_saved_note_finalize (GObject *object)
{
  TandemSavedNote *self = (TandemSavedNote *) object;

  if (self->note != NULL)
    g_signal_handlers_disconnect_by_data (self->note, self);
  g_clear_object (&self->note);
  g_clear_object (&self->store);
  g_free (self->id);
  G_OBJECT_CLASS (tandem_saved_note_parent_class)->finalize (object);
}

static void
tandem_saved_note_class_init (TandemSavedNoteClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tandem_saved_note_finalize;
}

static void
tandem_saved_note_init (TandemSavedNote *self)
{
}

static TandemSavedNote *
saved_note_new (TandemStore *store,
                const char  *id,
                TandemNote  *note,
                guint        saved_events,
                guint        n_tail)
{
  TandemSavedNote *self = g_object_new (TANDEM_TYPE_SAVED_NOTE, NULL);

  self->store = g_object_ref (store);
  self->id = g_strdup (id);
  self->note = note;
  self->saved_events = saved_events;
  self->n_tail = n_tail;
  return self;
}

/**
 * tandem_saved_note_create:
 * @peer_id: the id this peer makes its events under
 *
 * Returns: (transfer full) (nullable): a new, empty note in the store
 */
TandemSavedNote *
tandem_saved_note_create (TandemStore  *store,
                          const char   *notebook_id,
                          guint64       peer_id,
                          GError      **error)
{
  g_autoptr(TandemNote) note = tandem_note_new (peer_id);

  return tandem_saved_note_adopt (store, notebook_id, note, error);
}

/**
 * tandem_saved_note_adopt:
 * @note: a note that lived in memory until now
 *
 * Gives @note a row in the store; the next commit saves all of it.
 *
 * Returns: (transfer full) (nullable): the saved note
 */
TandemSavedNote *
tandem_saved_note_adopt (TandemStore  *store,
                         const char   *notebook_id,
                         TandemNote   *note,
                         GError      **error)
{
  g_autofree char *id = tandem_store_create_note (store, notebook_id, error);

  if (id == NULL)
    return NULL;
  return saved_note_new (store, id, g_object_ref (note), 0, 0);
}

/**
 * tandem_saved_note_create_with_id:
 * @note_id: the id another peer gave the note
 *
 * A note made elsewhere arrives: it gets a row under its own id, or the
 * row it already has.
 *
 * Returns: (transfer full) (nullable): a new, empty note in the store
 */
TandemSavedNote *
tandem_saved_note_create_with_id (TandemStore  *store,
                                  const char   *notebook_id,
                                  const char   *note_id,
                                  guint64       peer_id,
                                  GError      **error)
{
  if (!tandem_store_add_note (store, notebook_id, note_id, error))
    return NULL;
  return saved_note_new (store, note_id, tandem_note_new (peer_id), 0, 0);
}

/**
 * tandem_saved_note_load:
 *
 * Opens a note from the store: its history and text are loaded as saved,
 * not replayed, then whatever waited in its causal buffer is put back.
 *
 * Returns: (transfer full) (nullable): the note, or %NULL with @error set
 *   when it cannot be read
 */
TandemSavedNote *
tandem_saved_note_load (TandemStore  *store,
                        const char   *note_id,
                        guint64       peer_id,
                        GError      **error)
{
  TandemStoreNote *stored = NULL;
  TandemNote *note;
  guint64 own;

  if (!tandem_store_load_note (store, note_id, &stored, error))
    return NULL;
  note = tandem_note_new_from_log (peer_id, stored->log, stored->text, error);
  if (note == NULL && stored->text != NULL)
    {
      /* the text kept for instant opening does not fit the history; the
       * history is what counts, so make the text from it */
      g_autoptr(GError) replay_error = NULL;

      note = tandem_note_new_from_log (peer_id, stored->log, NULL, &replay_error);
      if (note != NULL)
        {
          g_message ("Note %s in %s: %s; its text was made again from its history",
                     note_id, tandem_store_get_path (store), (*error)->message);
          g_clear_error (error);
        }
    }
  if (note == NULL)
    {
      g_prefix_error (error, "Note %s in %s: ", note_id, tandem_store_get_path (store));
      tandem_store_note_free (stored);
      return NULL;
    }
  for (guint i = 0; i < stored->pending->len; i++)
    {
      gsize len;
      const char *json = g_bytes_get_data (g_ptr_array_index (stored->pending, i), &len);
      g_autofree char *array = g_strdup_printf ("[%.*s]", (int) len, json);
      g_autoptr(GPtrArray) events = tandem_events_from_string (array, -1, NULL);

      /* a waiting event that cannot be read is dropped: it was never
       * applied, and its sender still has it */
      for (guint k = 0; events && k < events->len; k++)
        tandem_note_receive (note, g_ptr_array_index (events, k), NULL);
    }
  /* Our own counter never goes back: a note whose events were made under
   * an older id (a restored backup) keeps those and goes on with the new. */
  own = tandem_version_vector_get (tandem_note_get_version (note), peer_id);
  if (own < stored->seq_counter)
    {
      g_set_error (error, TANDEM_STORE_ERROR, TANDEM_STORE_ERROR_CORRUPT,
                   "Note %s in %s has lost events of its own peer (%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT ")",
                   note_id, tandem_store_get_path (store), own, stored->seq_counter);
      g_object_unref (note);
      tandem_store_note_free (stored);
      return NULL;
    }
  if (stored->undo != NULL)
    {
      g_autoptr(GError) undo_error = NULL;

      if (!tandem_note_load_undo (note, stored->undo, &undo_error))
        g_warning ("Note %s: %s", note_id, undo_error->message);
    }
  {
    TandemSavedNote *self = saved_note_new (store, note_id, note, tandem_note_get_n_events (note),
                                            stored->n_tail);
    tandem_store_note_free (stored);
    return self;
  }
}

TandemNote *
tandem_saved_note_get_note (TandemSavedNote *self)
{
  g_return_val_if_fail (TANDEM_IS_SAVED_NOTE (self), NULL);
  return self->note;
}

const char *
tandem_saved_note_get_id (TandemSavedNote *self)
{
  g_return_val_if_fail (TANDEM_IS_SAVED_NOTE (self), NULL);
  return self->id;
}

guint
tandem_saved_note_get_saved_events (TandemSavedNote *self)
{
  g_return_val_if_fail (TANDEM_IS_SAVED_NOTE (self), 0);
  return self->saved_events;
}

/* The fields as the store keeps them beside the note, to list notes (and
 * find what is in the trash) without loading them: lww reads of the
 * registers, sets as arrays. */
char *
tandem_saved_note_dup_fields_json (TandemNote *note)
{
  g_autoptr(GPtrArray) names = tandem_field_table_dup_names (tandem_note_get_fields (note));
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);

      json_builder_set_member_name (b, name);
      if (tandem_note_get_field_policy (note, name) == TANDEM_FIELD_POLICY_SET)
        {
          g_autoptr(GPtrArray) elems = tandem_note_dup_set (note, name);

          json_builder_begin_array (b);
          for (guint k = 0; k < elems->len; k++)
            json_builder_add_string_value (b, g_ptr_array_index (elems, k));
          json_builder_end_array (b);
        }
      else
        {
          g_autoptr(GVariant) v = tandem_note_dup_field (note, name);

          tandem_json_add_field_value (b, v);
        }
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return tandem_json_to_string (root, NULL);
}

/* Whose events the note got since event @from, as JSON for its history. */
static char *
authors_since (TandemNote *note,
               guint       from)
{
  g_autoptr(GArray) peers = tandem_note_dup_authors_since (note, from);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_array (b);
  for (guint k = 0; k < peers->len; k++)
    {
      g_autofree char *id = tandem_peer_id_to_string (g_array_index (peers, guint64, k));

      json_builder_add_string_value (b, id);
    }
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  return tandem_json_to_string (root, NULL);
}

static GPtrArray *
encode_pending (TandemNote *note)
{
  g_autoptr(GPtrArray) pending = tandem_note_dup_pending (note);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (guint i = 0; i < pending->len; i++)
    {
      g_autoptr(JsonNode) node = tandem_event_to_json (g_ptr_array_index (pending, i));
      char *json = tandem_json_to_string (node, NULL);

      g_ptr_array_add (out, g_bytes_new_take (json, strlen (json)));
    }
  return out;
}

/**
 * tandem_saved_note_commit:
 *
 * Makes everything the note has now durable, in one transaction; does
 * nothing when nothing changed. On error the store is as it was and the
 * note still holds the changes, so a later commit can retry.
 *
 * Returns: %TRUE when the store holds the note as it is now
 */
gboolean
tandem_saved_note_commit (TandemSavedNote  *self,
                          GError          **error)
{
  guint n_events = tandem_note_get_n_events (self->note);
  g_autoptr(GBytes) runs = NULL;
  g_autoptr(GPtrArray) pending = NULL;
  g_autofree char *text = NULL;
  g_autofree char *fields = NULL;
  g_autoptr(GBytes) undo = NULL;
  g_autofree char *authors = NULL;
  TandemStoreNoteUpdate update = { 0 };

  g_return_val_if_fail (TANDEM_IS_SAVED_NOTE (self), FALSE);

  if (n_events == self->saved_events && tandem_note_get_n_pending (self->note) == 0 && !self->pending_dirty)
    return TRUE;

  if (n_events > self->saved_events)
    {
      runs = tandem_note_save_log (self->note, self->saved_events);
      update.runs = runs;
      update.n_events = n_events - self->saved_events;
      authors = authors_since (self->note, self->saved_events);
      update.authors = authors;
    }
  text = tandem_note_dup_text (self->note);
  fields = tandem_saved_note_dup_fields_json (self->note);
  pending = encode_pending (self->note);
  undo = tandem_note_save_undo (self->note);
  update.text = text;
  update.fields = fields;
  update.undo = undo;
  update.pending = pending;
  update.seq_counter = tandem_version_vector_get (tandem_note_get_version (self->note),
                                                  tandem_note_get_peer_id (self->note));
  if (!tandem_store_commit_note (self->store, self->id, &update, error))
    return FALSE;
  if (runs != NULL)
    self->n_tail++;
  self->saved_events = n_events;
  self->pending_dirty = pending->len > 0;

  /* Rewriting the history as one piece only after the commit keeps it in
   * step with the saved text; a failure here loses nothing. */
  if (self->n_tail >= MAX_TAIL_PIECES)
    {
      g_autoptr(GBytes) all = tandem_note_save_log (self->note, 0);
      g_autoptr(GError) compact_error = NULL;

      if (tandem_store_compact_note (self->store, self->id, all, n_events, &compact_error))
        self->n_tail = 0;
      else
        g_warning ("Could not compact note %s: %s", self->id, compact_error->message);
    }
  return TRUE;
}

/**
 * tandem_saved_note_rebuild:
 *
 * Makes the note again from its history alone, replayed from the first
 * event, and saves the text and fields that gives. Used when a peer at the
 * same version shows a different note: the text kept beside the history
 * (so that opening is instant) is the one thing that can drift from it.
 * The TandemNote is a new object afterwards.
 *
 * Returns: whether the rebuilt note was saved
 */
gboolean
tandem_saved_note_rebuild (TandemSavedNote  *self,
                           GError          **error)
{
  g_autoptr(GBytes) all = tandem_note_save_log (self->note, 0);
  g_autoptr(GPtrArray) pieces = g_ptr_array_new ();
  g_autoptr(GPtrArray) pending = tandem_note_dup_pending (self->note);
  g_autoptr(GBytes) undo = tandem_note_save_undo (self->note);
  g_autoptr(TandemNote) fresh = NULL;
  g_autofree char *text = NULL;
  g_autofree char *fields = NULL;
  TandemStoreNoteUpdate update = { 0 };

  g_ptr_array_add (pieces, all);
  fresh = tandem_note_new_from_log (tandem_note_get_peer_id (self->note), pieces, NULL, error);
  if (fresh == NULL)
    return FALSE;
  for (guint i = 0; i < pending->len; i++)
    tandem_note_receive (fresh, g_ptr_array_index (pending, i), NULL);
  {
    /* the fields are read as before */
    g_autoptr(GPtrArray) names = tandem_field_table_dup_names (tandem_note_get_fields (self->note));

    for (guint i = 0; i < names->len; i++)
      tandem_note_set_field_policy (fresh, g_ptr_array_index (names, i),
                                    tandem_note_get_field_policy (self->note, g_ptr_array_index (names, i)));
  }
  if (undo != NULL)
    tandem_note_load_undo (fresh, undo, NULL);

  text = tandem_note_dup_text (fresh);
  fields = tandem_saved_note_dup_fields_json (fresh);
  update.text = text;
  update.fields = fields;
  update.seq_counter = tandem_version_vector_get (tandem_note_get_version (fresh),
                                                  tandem_note_get_peer_id (fresh));
  if (!tandem_store_commit_note (self->store, self->id, &update, error))
    return FALSE;
  g_signal_handlers_disconnect_by_data (self->note, self);
  g_set_object (&self->note, fresh);
  return TRUE;
}

/**
 * tandem_saved_note_revert:
 *
 * Throws away what the note took since its last commit, by loading it
 * again from the store: a batch from another peer that was refused half
 * way must leave no trace. The TandemNote is a new object afterwards.
 *
 * Returns: whether the note could be loaded
 */
gboolean
tandem_saved_note_revert (TandemSavedNote  *self,
                          GError          **error)
{
  g_autoptr(TandemSavedNote) saved = tandem_saved_note_load (self->store, self->id,
                                                             tandem_note_get_peer_id (self->note), error);

  if (saved == NULL)
    return FALSE;
  g_signal_handlers_disconnect_by_data (self->note, self);
  g_set_object (&self->note, saved->note);
  self->saved_events = saved->saved_events;
  self->n_tail = saved->n_tail;
  self->pending_dirty = FALSE;
  return TRUE;
}

/**
 * tandem_saved_note_restore_version:
 * @n_events: the version: the note's first @n_events events
 *
 * Makes the text of that version today's text, as an ordinary local edit
 * in one undoable step, so that it syncs and merges like typing. Only the
 * part of today's text that differs from the old one is replaced: what the
 * two share at either end stays, and so do other members' carets there and
 * what they type into it meanwhile. Nothing is committed; the caller
 * commits (the app with tandem_peer_commit(), which also sends it).
 *
 * Returns: %FALSE when the note has no such version
 */
gboolean
tandem_saved_note_restore_version (TandemSavedNote  *self,
                                   guint64           n_events,
                                   GError          **error)
{
  g_autofree char *old = NULL, *now = NULL;
  g_autofree gunichar *a = NULL, *z = NULL;
  glong na, nz, head = 0, tail = 0;

  g_return_val_if_fail (TANDEM_IS_SAVED_NOTE (self), FALSE);

  if (n_events <= G_MAXUINT)
    old = tandem_note_dup_text_at (self->note, (guint) n_events);
  if (old == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "The note has no version %" G_GUINT64_FORMAT " (it has %u events)", n_events,
                   tandem_note_get_n_events (self->note));
      return FALSE;
    }
  now = tandem_note_dup_text (self->note);
  a = g_utf8_to_ucs4_fast (now, -1, &na);
  z = g_utf8_to_ucs4_fast (old, -1, &nz);
  while (head < na && head < nz && a[head] == z[head])
    head++;
  while (tail < na - head && tail < nz - head && a[na - 1 - tail] == z[nz - 1 - tail])
    tail++;

  tandem_note_begin_user_action (self->note);
  if (na - head - tail > 0)
    {
      g_autoptr(TandemEvent) e = tandem_note_delete (self->note, head, na - head - tail, error);

      if (e == NULL)
        {
          tandem_note_end_user_action (self->note);
          return FALSE;
        }
    }
  if (nz - head - tail > 0)
    {
      const char *from = g_utf8_offset_to_pointer (old, head);
      g_autofree char *middle = g_strndup (from, g_utf8_offset_to_pointer (from, nz - head - tail) - from);
      g_autoptr(TandemEvent) e = tandem_note_insert (self->note, head, middle, error);

      if (e == NULL)
        {
          tandem_note_end_user_action (self->note);
          return FALSE;
        }
    }
  tandem_note_end_user_action (self->note);
  return TRUE;
}
