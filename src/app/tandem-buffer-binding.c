/* tandem-buffer-binding.c: a GtkTextBuffer that edits a note
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The one place where GTK text meets the engine. The engine owns the text;
 * the buffer mirrors it:
 *
 * - What the user types (insert-text, delete-range) becomes engine edits,
 *   grouped by the buffer's user actions into undo steps. GtkTextBuffer's
 *   own undo is off: undo is the engine's, and undoes only this user's
 *   edits. Edits are committed to the store (and so sent) in batches, at
 *   most BATCH_MS after the first one.
 * - What the engine changes on its own (another peer, undo) arrives as
 *   text-inserted / text-deleted and is applied to the buffer at those
 *   offsets. Marks keep their place in the text around it, so the local
 *   cursor and selection do not jump. A batch merged at once arrives as
 *   "all deleted, all inserted"; that is turned back into the smallest
 *   replacement, so the cursor stays put there too.
 *
 * Offsets on both sides are in characters (code points).
 */
#include "tandem-buffer-binding.h"

/* Local edits are committed this long after the first of a batch. */
#define BATCH_MS 40

struct _TandemBufferBinding
{
  GObject parent_instance;

  GtkTextBuffer *buffer;
  TandemPeer *peer;
  TandemSavedNote *saved;
  TandemNote *note;             /* the saved note's, watched */

  gboolean applying;            /* the buffer is being changed from the note */
  gboolean pending_full_delete; /* "all deleted" came; its insert follows */
  guint commit_id;
  guint user_action_depth;
  guint action_edits;           /* edits in the current user action */
};

G_DEFINE_FINAL_TYPE (TandemBufferBinding, tandem_buffer_binding, G_TYPE_OBJECT)

static void flush_full_delete (TandemBufferBinding *self);

enum { SAVE_FAILED, N_SIGNALS };
static guint signals[N_SIGNALS];

static gboolean
commit_now (gpointer data)
{
  TandemBufferBinding *self = data;
  g_autoptr(GError) error = NULL;

  self->commit_id = 0;
  if (self->saved != NULL && !tandem_peer_commit (self->peer, self->saved, &error))
    g_signal_emit (self, signals[SAVE_FAILED], 0, error);
  return G_SOURCE_REMOVE;
}

static void
schedule_commit (TandemBufferBinding *self)
{
  if (self->commit_id == 0)
    self->commit_id = g_timeout_add (BATCH_MS, commit_now, self);
}

/**
 * tandem_buffer_binding_flush:
 *
 * Commits what is waiting for its batch now (before closing a note).
 */
void
tandem_buffer_binding_flush (TandemBufferBinding *self)
{
  g_return_if_fail (TANDEM_IS_BUFFER_BINDING (self));

  if (self->commit_id != 0)
    {
      g_clear_handle_id (&self->commit_id, g_source_remove);
      commit_now (self);
    }
}

/* ---- buffer -> note ---- */

/* GtkTextBuffer wraps every key press in a user action; undoing key by
 * key is not what anyone wants. An action of one edit (a key) is left to
 * the engine, which makes a run of typing or deleting one step; an action
 * of several (a replaced selection, a paste over text) is one step. */
static void
begin_user_action_cb (GtkTextBuffer       *buffer,
                      TandemBufferBinding *self)
{
  if (self->user_action_depth++ == 0)
    self->action_edits = 0;
}

static void
end_user_action_cb (GtkTextBuffer       *buffer,
                    TandemBufferBinding *self)
{
  if (self->user_action_depth > 0 && --self->user_action_depth == 0 &&
      self->note != NULL && self->action_edits > 1)
    tandem_note_end_user_action (self->note);
}

/* Called before each edit the user makes: from its second edit on, a user
 * action becomes one undo step. */
static void
note_user_edit (TandemBufferBinding *self)
{
  if (self->user_action_depth > 0 && ++self->action_edits == 2)
    tandem_note_begin_user_action (self->note);
}

static void
insert_text_cb (GtkTextBuffer       *buffer,
                GtkTextIter         *location,
                const char          *text,
                int                  len,
                TandemBufferBinding *self)
{
  g_autofree char *copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemEvent) event = NULL;

  if (self->applying || self->note == NULL)
    return;
  flush_full_delete (self);
  copy = g_strndup (text, len);
  note_user_edit (self);
  event = tandem_note_insert (self->note, (guint) gtk_text_iter_get_offset (location), copy, &error);
  if (event == NULL)
    g_critical ("The editor and note %s disagree: %s", tandem_saved_note_get_id (self->saved), error->message);
  schedule_commit (self);
}

static void
delete_range_cb (GtkTextBuffer       *buffer,
                 GtkTextIter         *start,
                 GtkTextIter         *end,
                 TandemBufferBinding *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemEvent) event = NULL;
  int from = gtk_text_iter_get_offset (start);
  int to = gtk_text_iter_get_offset (end);

  if (self->applying || self->note == NULL || from == to)
    return;
  flush_full_delete (self);
  note_user_edit (self);
  event = tandem_note_delete (self->note, (guint) MIN (from, to), (guint) ABS (to - from), &error);
  if (event == NULL)
    g_critical ("The editor and note %s disagree: %s", tandem_saved_note_get_id (self->saved), error->message);
  schedule_commit (self);
}


/* ---- note -> buffer ---- */

static void
apply_insert (TandemBufferBinding *self,
              guint                pos,
              const char          *text)
{
  GtkTextIter iter;

  self->applying = TRUE;
  gtk_text_buffer_get_iter_at_offset (self->buffer, &iter, (int) pos);
  gtk_text_buffer_insert (self->buffer, &iter, text, -1);
  self->applying = FALSE;
}

static void
apply_delete (TandemBufferBinding *self,
              guint                pos,
              guint                len)
{
  GtkTextIter start, end;

  self->applying = TRUE;
  gtk_text_buffer_get_iter_at_offset (self->buffer, &start, (int) pos);
  gtk_text_buffer_get_iter_at_offset (self->buffer, &end, (int) (pos + len));
  gtk_text_buffer_delete (self->buffer, &start, &end);
  self->applying = FALSE;
}

/* Turns "the whole text is now @text" into the one smallest replacement:
 * the common start and end stay, and so do the marks in them. */
static void
apply_replacement (TandemBufferBinding *self,
                   const char          *text)
{
  GtkTextIter start, end;
  g_autofree char *old = NULL;
  const char *a, *b, *a_end, *b_end;
  glong prefix = 0, old_len, new_len, suffix = 0;

  gtk_text_buffer_get_bounds (self->buffer, &start, &end);
  old = gtk_text_buffer_get_text (self->buffer, &start, &end, TRUE);
  a = old;
  b = text;
  while (*a && *b && g_utf8_get_char (a) == g_utf8_get_char (b))
    {
      a = g_utf8_next_char (a);
      b = g_utf8_next_char (b);
      prefix++;
    }
  old_len = g_utf8_strlen (old, -1);
  new_len = g_utf8_strlen (text, -1);
  a_end = old + strlen (old);
  b_end = text + strlen (text);
  while (prefix + suffix < old_len && prefix + suffix < new_len)
    {
      const char *pa = g_utf8_prev_char (a_end);
      const char *pb = g_utf8_prev_char (b_end);

      if (g_utf8_get_char (pa) != g_utf8_get_char (pb))
        break;
      a_end = pa;
      b_end = pb;
      suffix++;
    }
  if (old_len - prefix - suffix > 0)
    apply_delete (self, (guint) prefix, (guint) (old_len - prefix - suffix));
  if (new_len - prefix - suffix > 0)
    {
      g_autofree char *middle = g_strndup (b, b_end - b);

      apply_insert (self, (guint) prefix, middle);
    }
}

static gboolean
flush_full_delete_idle (gpointer data)
{
  flush_full_delete (data);
  return G_SOURCE_REMOVE;
}

static void
text_inserted_cb (TandemNote          *note,
                  guint                pos,
                  const char          *text,
                  guint                len,
                  TandemBufferBinding *self)
{
  if (self->pending_full_delete && pos == 0)
    {
      self->pending_full_delete = FALSE;
      apply_replacement (self, text);
      return;
    }
  apply_insert (self, pos, text);
}

/* A whole-text delete held back for the insert that may follow it (see
 * text_deleted_cb) is applied after all when anything else comes first. */
static void
flush_full_delete (TandemBufferBinding *self)
{
  if (!self->pending_full_delete)
    return;
  self->pending_full_delete = FALSE;
  apply_delete (self, 0, (guint) gtk_text_buffer_get_char_count (self->buffer));
}

static void
text_deleted_cb (TandemNote          *note,
                 guint                pos,
                 guint                len,
                 TandemBufferBinding *self)
{
  flush_full_delete (self);
  /* the whole text: either someone deleted it all, or a long batch merged
   * at once, whose new text follows at once as one insert; wait for it, to
   * turn the pair into the smallest replacement */
  if (pos == 0 && len > 0 && (int) len == gtk_text_buffer_get_char_count (self->buffer))
    {
      self->pending_full_delete = TRUE;
      g_idle_add_full (G_PRIORITY_HIGH, flush_full_delete_idle, g_object_ref (self), g_object_unref);
      return;
    }
  apply_delete (self, pos, len);
}

static void
show_note_text (TandemBufferBinding *self)
{
  g_autofree char *text = self->note ? tandem_note_dup_text (self->note) : g_strdup ("");
  GtkTextIter start;

  self->applying = TRUE;
  gtk_text_buffer_set_text (self->buffer, text, -1);
  gtk_text_buffer_get_start_iter (self->buffer, &start);
  gtk_text_buffer_place_cursor (self->buffer, &start);
  self->applying = FALSE;
}

static void
unwatch_note (TandemBufferBinding *self)
{
  if (self->note != NULL)
    g_signal_handlers_disconnect_by_data (self->note, self);
  g_clear_object (&self->note);
  self->pending_full_delete = FALSE;
  self->user_action_depth = 0;
}

static void
watch_note (TandemBufferBinding *self)
{
  self->note = g_object_ref (tandem_saved_note_get_note (self->saved));
  g_signal_connect (self->note, "text-inserted", G_CALLBACK (text_inserted_cb), self);
  g_signal_connect (self->note, "text-deleted", G_CALLBACK (text_deleted_cb), self);
}

static void
note_reloaded_cb (TandemPeer          *peer,
                  const char          *note_id,
                  TandemBufferBinding *self)
{
  if (self->saved == NULL || g_strcmp0 (note_id, tandem_saved_note_get_id (self->saved)) != 0)
    return;
  /* a new TandemNote: show its text with the cursor where it was */
  unwatch_note (self);
  watch_note (self);
  {
    g_autofree char *text = tandem_note_dup_text (self->note);

    apply_replacement (self, text);
  }
}

/* ---- the object ---- */

static void
tandem_buffer_binding_dispose (GObject *object)
{
  TandemBufferBinding *self = TANDEM_BUFFER_BINDING (object);

  tandem_buffer_binding_set_note (self, NULL);
  if (self->buffer != NULL)
    g_signal_handlers_disconnect_by_data (self->buffer, self);
  if (self->peer != NULL)
    g_signal_handlers_disconnect_by_data (self->peer, self);
  g_clear_object (&self->buffer);
  g_clear_object (&self->peer);
  G_OBJECT_CLASS (tandem_buffer_binding_parent_class)->dispose (object);
}

static void
tandem_buffer_binding_class_init (TandemBufferBindingClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = tandem_buffer_binding_dispose;

  /**
   * TandemBufferBinding::save-failed:
   * @error: why the edits could not be saved (they stay in memory)
   */
  signals[SAVE_FAILED] = g_signal_new ("save-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
tandem_buffer_binding_init (TandemBufferBinding *self)
{
}

/**
 * tandem_buffer_binding_new:
 *
 * Returns: (transfer full): a binding of @buffer, showing no note yet
 */
TandemBufferBinding *
tandem_buffer_binding_new (TandemPeer    *peer,
                           GtkTextBuffer *buffer)
{
  TandemBufferBinding *self = g_object_new (TANDEM_TYPE_BUFFER_BINDING, NULL);

  self->peer = g_object_ref (peer);
  self->buffer = g_object_ref (buffer);
  gtk_text_buffer_set_enable_undo (buffer, FALSE);
  g_signal_connect (buffer, "insert-text", G_CALLBACK (insert_text_cb), self);
  g_signal_connect (buffer, "delete-range", G_CALLBACK (delete_range_cb), self);
  g_signal_connect (buffer, "begin-user-action", G_CALLBACK (begin_user_action_cb), self);
  g_signal_connect (buffer, "end-user-action", G_CALLBACK (end_user_action_cb), self);
  g_signal_connect (peer, "note-reloaded", G_CALLBACK (note_reloaded_cb), self);
  return self;
}

/**
 * tandem_buffer_binding_set_note:
 * @saved: (nullable): the note to show and edit, or %NULL for none
 */
void
tandem_buffer_binding_set_note (TandemBufferBinding *self,
                                TandemSavedNote     *saved)
{
  g_return_if_fail (TANDEM_IS_BUFFER_BINDING (self));

  if (saved == self->saved && saved != NULL)
    return;
  tandem_buffer_binding_flush (self);
  unwatch_note (self);
  g_set_object (&self->saved, saved);
  if (saved != NULL)
    watch_note (self);
  show_note_text (self);
}

/**
 * tandem_buffer_binding_undo:
 * @redo: redo instead
 *
 * Undoes (or redoes) this user's last step; the buffer follows through
 * the note's signals.
 *
 * Returns: whether there was something to undo
 */
gboolean
tandem_buffer_binding_undo (TandemBufferBinding *self,
                            gboolean             redo)
{
  g_autoptr(GPtrArray) events = NULL;

  g_return_val_if_fail (TANDEM_IS_BUFFER_BINDING (self), FALSE);

  if (self->note == NULL || !(redo ? tandem_note_can_redo (self->note) : tandem_note_can_undo (self->note)))
    return FALSE;
  events = redo ? tandem_note_redo (self->note, NULL) : tandem_note_undo (self->note, NULL);
  if (events != NULL)
    schedule_commit (self);
  return events != NULL;
}
