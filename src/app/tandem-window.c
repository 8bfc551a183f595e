/* tandem-window.c: the main window: notebooks and notes, and the editor
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The sidebar lists the notes of one notebook (pinned first, then by last
 * change) from what the store keeps beside each note, so it shows without
 * loading any note; it is refreshed shortly after anything changes. The
 * editor shows the selected note. What the other members do reaches the
 * window through TandemPeer's signals: their carets, who is in which note,
 * and who is online. The dialogs live in tandem-window-dialogs.c.
 */
#include "tandem-window-private.h"

#include <glib/gi18n.h>

#include "tandem-event-codec.h"
#include "tandem-note-row.h"

G_DEFINE_FINAL_TYPE (TandemWindow, tandem_window, ADW_TYPE_APPLICATION_WINDOW)

/* ---- the note list ---- */

/* Who has which note open: note id -> "Ann, Bob here", for the rows.
 * Made once per refresh of the list, not once per row. */
static GHashTable *
dup_people (TandemWindow *self)
{
  GPtrArray *sessions = tandem_peer_get_sessions (self->peer);
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  const char *note_id;
  GPtrArray *list;

  for (guint i = 0; i < sessions->len; i++)
    {
      TandemSyncSession *session = g_ptr_array_index (sessions, i);
      const char *open = tandem_sync_session_get_presence_note (session);

      if (open == NULL || !tandem_sync_session_is_open (session))
        continue;
      list = g_hash_table_lookup (names, open);
      if (list == NULL)
        g_hash_table_insert (names, (gpointer) open, list = g_ptr_array_new ());
      g_ptr_array_add (list, (gpointer) tandem_sync_session_get_remote_name (session));
    }
  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, (gpointer *) &note_id, (gpointer *) &list))
    {
      g_autofree char *joined = NULL;

      g_ptr_array_add (list, NULL);
      joined = g_strjoinv (", ", (char **) list->pdata);
      /* Translators: who else has this note open, e.g. "Ann, Bob here" */
      g_hash_table_insert (out, g_strdup (note_id), g_strdup_printf (_("%s here"), joined));
    }
  return out;
}

static gboolean
matches_search (TandemWindow        *self,
                TandemStoreNoteInfo *info)
{
  g_autofree char *needle = NULL;
  g_autofree char *fields = NULL;
  g_autofree char *text = NULL;

  if (self->search == NULL || *self->search == '\0')
    return TRUE;
  needle = g_utf8_casefold (self->search, -1);
  {
    /* the values a person sees (title, tags), not the JSON around them */
    g_autoptr(JsonNode) root = json_from_string (info->fields ? info->fields : "{}", NULL);
    JsonObject *object = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
    JsonNode *tags = object ? json_object_get_member (object, "tags") : NULL;
    GString *seen = g_string_new (info->title);

    for (guint i = 0; tags && JSON_NODE_HOLDS_ARRAY (tags) && i < json_array_get_length (json_node_get_array (tags)); i++)
      {
        JsonNode *tag = json_array_get_element (json_node_get_array (tags), i);

        if (JSON_NODE_HOLDS_VALUE (tag) && json_node_get_value_type (tag) == G_TYPE_STRING)
          g_string_append_printf (seen, "\n%s", json_node_get_string (tag));
      }
    fields = g_utf8_casefold (seen->str, -1);
    g_string_free (seen, TRUE);
  }
  if (strstr (fields, needle) != NULL)
    return TRUE;
  /* the whole text, not only what the list shows */
  {
    g_autofree char *raw = tandem_store_load_note_text (self->store, info->id, NULL);

    text = g_utf8_casefold (raw ? raw : "", -1);
  }
  return strstr (text, needle) != NULL;
}

/* Brings @item (NULL: none yet) in line with @info. Returns the item to
 * list, or NULL when the note is not in this view (trash, search, another
 * notebook). *moved is set when the list's order may have changed. */
static TandemNoteItem *
show_note (TandemWindow        *self,
           TandemStoreNoteInfo *info,
           TandemNoteItem      *item,
           gboolean            *moved)
{
  if (g_strcmp0 (info->notebook_id, self->notebook_id) != 0 ||
      (info->trashed != 0) != self->showing_trash || !matches_search (self, info))
    return NULL;
  item = item ? g_object_ref (item) : tandem_note_item_new (info->id);
  *moved |= tandem_note_item_update (item, info->title, info->snippet, info->colour, info->pinned, info->updated);
  return item;
}

static void
show_list_or_empty (TandemWindow *self)
{
  adw_status_page_set_title (self->empty_page,
                             self->search && *self->search ? _("No Results")
                             : self->showing_trash ? _("The Trash Is Empty") : _("No Notes"));
  gtk_stack_set_visible_child_name (self->list_stack,
                                    g_list_model_get_n_items (G_LIST_MODEL (self->notes)) > 0 ? "list" : "empty");
}

static void
show_people (TandemWindow *self)
{
  g_autoptr(GHashTable) people = dup_people (self);

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->notes)); i++)
    {
      g_autoptr(TandemNoteItem) item = g_list_model_get_item (G_LIST_MODEL (self->notes), i);

      tandem_note_item_set_people (item, g_hash_table_lookup (people, tandem_note_item_get_id (item)));
    }
}

/* Reads every note of the notebook again: for a new notebook, view or
 * search, and for notes that came or went. */
void
_tandem_window_refresh_notes (TandemWindow *self)
{
  g_autoptr(GPtrArray) infos = NULL;
  g_autoptr(GHashTable) items = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func (g_object_unref);
  GListModel *shown = G_LIST_MODEL (self->notes);
  gboolean moved = FALSE;

  g_clear_handle_id (&self->refresh_id, g_source_remove);
  self->list_stale = FALSE;
  g_hash_table_remove_all (self->stale_notes);
  if (self->notebook_id == NULL)
    return;
  infos = tandem_store_list_notes (self->store, self->notebook_id, NULL);

  /* keep the items (and so the selection and scroll) that stay */
  for (guint i = 0; i < g_list_model_get_n_items (shown); i++)
    {
      g_autoptr(TandemNoteItem) item = g_list_model_get_item (shown, i);

      g_hash_table_insert (items, (gpointer) tandem_note_item_get_id (item), item);
    }
  for (guint i = 0; infos && i < infos->len; i++)
    {
      TandemStoreNoteInfo *info = g_ptr_array_index (infos, i);
      TandemNoteItem *listed = g_hash_table_lookup (items, info->id);
      g_autoptr(TandemNoteItem) item = show_note (self, info, listed, &moved);

      if (item == NULL)
        continue;
      if (listed != NULL)
        g_hash_table_remove (items, info->id);
      else
        g_ptr_array_add (added, g_steal_pointer (&item));
    }
  /* the items left are notes gone from this view */
  for (guint i = g_list_model_get_n_items (shown); i > 0; i--)
    {
      g_autoptr(TandemNoteItem) item = g_list_model_get_item (shown, i - 1);

      if (g_hash_table_contains (items, tandem_note_item_get_id (item)))
        g_list_store_remove (self->notes, i - 1);
    }
  /* new ones in one go: the sorted model places them itself */
  g_list_store_splice (self->notes, g_list_model_get_n_items (shown), 0, added->pdata, added->len);
  if (moved)
    gtk_sorter_changed (self->notes_sorter, GTK_SORTER_CHANGE_DIFFERENT);
  show_people (self);
  show_list_or_empty (self);
}

/* (g_list_store_find_with_equal_func() wants an item to compare with) */
static gboolean
find_note (GListModel *notes,
           const char *note_id,
           guint      *position)
{
  for (guint i = 0; i < g_list_model_get_n_items (notes); i++)
    {
      g_autoptr(TandemNoteItem) item = g_list_model_get_item (notes, i);

      if (g_str_equal (tandem_note_item_get_id (item), note_id))
        {
          *position = i;
          return TRUE;
        }
    }
  return FALSE;
}

/* Reads again only the notes that changed: while people type, this runs
 * every 250 ms, and a notebook can hold thousands of notes. */
static void
refresh_stale_notes (TandemWindow *self)
{
  GHashTableIter iter;
  const char *note_id;
  gboolean moved = FALSE;

  g_hash_table_iter_init (&iter, self->stale_notes);
  while (g_hash_table_iter_next (&iter, (gpointer *) &note_id, NULL))
    {
      g_autoptr(TandemStoreNoteInfo) info = tandem_store_dup_note_info (self->store, note_id, NULL);
      g_autoptr(TandemNoteItem) listed = NULL;
      g_autoptr(TandemNoteItem) item = NULL;
      guint position;
      gboolean found = find_note (G_LIST_MODEL (self->notes), note_id, &position);

      if (found)
        listed = g_list_model_get_item (G_LIST_MODEL (self->notes), position);
      item = info ? show_note (self, info, listed, &moved) : NULL;
      if (found && item == NULL)
        g_list_store_remove (self->notes, position);
      else if (!found && item != NULL)
        g_list_store_append (self->notes, item);
    }
  g_hash_table_remove_all (self->stale_notes);
  if (moved)
    gtk_sorter_changed (self->notes_sorter, GTK_SORTER_CHANGE_DIFFERENT);
  show_list_or_empty (self);
}

static gboolean
refresh_idle (gpointer data)
{
  TandemWindow *self = data;

  self->refresh_id = 0;
  /* a joined notebook gets its name from the members */
  _tandem_window_reload_notebooks (self);
  if (self->list_stale)
    _tandem_window_refresh_notes (self);
  else
    {
      refresh_stale_notes (self);
      show_people (self);
    }
  return G_SOURCE_REMOVE;
}

static void
queue_refresh_idle (TandemWindow *self)
{
  if (self->refresh_id == 0)
    self->refresh_id = g_timeout_add (250, refresh_idle, self);
}

/* Soon, the whole list again. */
void
_tandem_window_queue_refresh (TandemWindow *self)
{
  self->list_stale = TRUE;
  queue_refresh_idle (self);
}

/* Soon, this note's row again (and who is where). */
static void
queue_note_refresh (TandemWindow *self,
                    const char   *note_id)
{
  g_hash_table_add (self->stale_notes, g_strdup (note_id));
  queue_refresh_idle (self);
}

/* ---- notebooks ---- */

static gboolean
same_strings (GListModel *a,
              GListModel *b)
{
  guint n = a ? g_list_model_get_n_items (a) : 0;

  if (a == NULL || n != g_list_model_get_n_items (b))
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (gtk_string_list_get_string (GTK_STRING_LIST (a), i),
                   gtk_string_list_get_string (GTK_STRING_LIST (b), i)) != 0)
      return FALSE;
  return TRUE;
}

void
_tandem_window_reload_notebooks (TandemWindow *self)
{
  g_autoptr(GPtrArray) notebooks = tandem_store_list_notebooks (self->store, NULL);
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  const char *private_id = tandem_store_get_private_notebook_id (self->store);
  guint selected = 0;

  g_ptr_array_set_size (self->notebook_ids, 0);
  for (guint i = 0; notebooks && i < notebooks->len; i++)
    {
      TandemStoreNotebook *notebook = g_ptr_array_index (notebooks, i);
      g_autoptr(GPtrArray) members = tandem_store_list_members (self->store, notebook->id, NULL);
      g_autofree char *label = NULL;

      if (g_str_equal (notebook->id, private_id))
        label = g_strdup (_("Personal"));
      else
        {
          guint n = members ? members->len + 1 : 1;
          const char *name = *notebook->name ? notebook->name : _("Shared notebook");

          /* Translators: a notebook's name and how many people share it */
          label = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s (%u member)", "%s (%u members)", n),
                                   name, n);
        }
      if (g_strcmp0 (notebook->id, self->notebook_id) == 0)
        selected = self->notebook_ids->len;
      g_ptr_array_add (self->notebook_ids, g_strdup (notebook->id));
      gtk_string_list_append (names, label);
    }
  /* the same names again (the usual case, as this runs with each refresh
   * of the list) leave the menu alone */
  if (!same_strings (gtk_drop_down_get_model (self->notebook_dropdown), G_LIST_MODEL (names)))
    {
      self->reloading_notebooks = TRUE;
      gtk_drop_down_set_model (self->notebook_dropdown, G_LIST_MODEL (names));
      gtk_drop_down_set_selected (self->notebook_dropdown, selected);
      self->reloading_notebooks = FALSE;
    }
  if (self->notebook_id == NULL && self->notebook_ids->len > 0)
    _tandem_window_select_notebook (self, g_ptr_array_index (self->notebook_ids, selected));
}

void
_tandem_window_select_notebook (TandemWindow *self,
                                const char   *notebook_id)
{
  if (g_strcmp0 (self->notebook_id, notebook_id) == 0)
    return;
  g_free (self->notebook_id);
  self->notebook_id = g_strdup (notebook_id);
  g_list_store_remove_all (self->notes);
  for (guint i = 0; i < self->notebook_ids->len; i++)
    if (g_str_equal (g_ptr_array_index (self->notebook_ids, i), notebook_id))
      {
        self->reloading_notebooks = TRUE;
        gtk_drop_down_set_selected (self->notebook_dropdown, i);
        self->reloading_notebooks = FALSE;
      }
  _tandem_window_refresh_notes (self);
  _tandem_window_update_actions (self);
}

static void
notebook_selected_cb (TandemWindow *self)
{
  guint i = gtk_drop_down_get_selected (self->notebook_dropdown);

  if (self->reloading_notebooks || i >= self->notebook_ids->len)
    return;
  _tandem_window_select_notebook (self, g_ptr_array_index (self->notebook_ids, i));
}

/* ---- the open note ---- */

static void
update_title (TandemWindow *self)
{
  TandemSavedNote *saved = tandem_note_editor_get_note (self->editor);
  g_autoptr(GVariant) title = saved ? tandem_note_dup_field (tandem_saved_note_get_note (saved), "title") : NULL;

  adw_window_title_set_title (self->window_title,
                              title && g_variant_is_of_type (title, G_VARIANT_TYPE_STRING) &&
                              *g_variant_get_string (title, NULL)
                              ? g_variant_get_string (title, NULL) : _("Tandem"));
}

static gboolean
send_presence (gpointer data)
{
  TandemWindow *self = data;
  TandemSavedNote *saved = tandem_note_editor_get_note (self->editor);
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (tandem_note_editor_get_view (self->editor)));
  GtkTextIter insert, bound;

  self->presence_id = 0;
  gtk_text_buffer_get_iter_at_mark (buffer, &insert, gtk_text_buffer_get_insert (buffer));
  gtk_text_buffer_get_iter_at_mark (buffer, &bound, gtk_text_buffer_get_selection_bound (buffer));
  tandem_peer_set_presence (self->peer, self->idle ? "idle" : "online",
                            saved ? tandem_saved_note_get_id (saved) : NULL,
                            saved ? gtk_text_iter_get_offset (&insert) : -1,
                            saved ? gtk_text_iter_get_offset (&bound) : -1);
  return G_SOURCE_REMOVE;
}

/* Cursor moves are sent at most every 100 ms. */
static void
queue_presence (TandemWindow *self)
{
  if (self->presence_id == 0)
    self->presence_id = g_timeout_add (100, send_presence, self);
}

static void
mark_set_cb (GtkTextBuffer *buffer,
             GtkTextIter   *location,
             GtkTextMark   *mark,
             TandemWindow  *self)
{
  if (mark == gtk_text_buffer_get_insert (buffer) || mark == gtk_text_buffer_get_selection_bound (buffer))
    queue_presence (self);
}

static gboolean
went_idle (gpointer data)
{
  TandemWindow *self = data;

  self->idle_id = 0;
  self->idle = TRUE;
  queue_presence (self);
  return G_SOURCE_REMOVE;
}

/* Anything the user does here counts as being there; a minute without
 * anything is "idle". */
static void
user_active (TandemWindow *self)
{
  g_clear_handle_id (&self->idle_id, g_source_remove);
  self->idle_id = g_timeout_add_seconds (60, went_idle, self);
  if (self->idle)
    {
      self->idle = FALSE;
      queue_presence (self);
    }
}

static void
buffer_changed_cb (TandemWindow *self)
{
  /* typing moves the cursor without a mark-set */
  queue_presence (self);
  user_active (self);
  _tandem_window_update_actions (self);
}

void
_tandem_window_show_remote_cursors (TandemWindow *self)
{
  TandemSavedNote *saved = tandem_note_editor_get_note (self->editor);
  GPtrArray *sessions = tandem_peer_get_sessions (self->peer);
  g_autoptr(GPtrArray) cursors = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_remote_cursor_free);

  for (guint i = 0; saved && i < sessions->len; i++)
    {
      TandemSyncSession *session = g_ptr_array_index (sessions, i);
      g_autoptr(TandemPresence) presence = NULL;
      TandemRemoteCursor *cursor;

      if (!tandem_sync_session_is_open (session))
        continue;
      presence = tandem_sync_session_dup_presence (session);
      if (g_strcmp0 (presence->note_id, tandem_saved_note_get_id (saved)) != 0 || presence->pos < 0)
        continue;
      cursor = g_new0 (TandemRemoteCursor, 1);
      cursor->name = g_strdup (tandem_sync_session_get_remote_name (session));
      if (!gdk_rgba_parse (&cursor->colour, tandem_sync_session_get_remote_colour (session)))
        gdk_rgba_parse (&cursor->colour, "#3584e4");
      cursor->pos = (int) presence->pos;
      cursor->anchor = (int) presence->anchor;
      g_ptr_array_add (cursors, cursor);
    }
  tandem_source_view_set_remote_cursors (tandem_note_editor_get_view (self->editor), cursors);
}

void
_tandem_window_open_note (TandemWindow *self,
                          const char   *note_id)
{
  g_autoptr(GError) error = NULL;
  TandemSavedNote *saved = note_id ? tandem_peer_get_note (self->peer, note_id, &error) : NULL;

  if (note_id != NULL && saved == NULL)
    {
      _tandem_window_show_status (self, error->message);
      return;
    }
  tandem_note_editor_set_note (self->editor, saved);
  gtk_stack_set_visible_child_name (self->content_stack, saved ? "editor" : "none");
  if (saved != NULL)
    {
      adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_FORWARD);
      gtk_widget_grab_focus (GTK_WIDGET (tandem_note_editor_get_view (self->editor)));
    }
  update_title (self);
  _tandem_window_show_remote_cursors (self);
  _tandem_window_update_actions (self);
  queue_presence (self);
}

static void
selected_note_cb (TandemWindow *self)
{
  TandemNoteItem *item = gtk_single_selection_get_selected_item (self->notes_selection);
  TandemSavedNote *open;

  if (item == NULL || gtk_widget_in_destruction (GTK_WIDGET (self)) || self->editor == NULL)
    return;
  open = tandem_note_editor_get_note (self->editor);
  if (open && g_str_equal (tandem_note_item_get_id (item), tandem_saved_note_get_id (open)))
    return;
  _tandem_window_open_note (self, tandem_note_item_get_id (item));
}

void
_tandem_window_select_row (TandemWindow *self,
                           const char   *note_id)
{
  guint position;

  if (find_note (G_LIST_MODEL (self->notes_selection), note_id, &position))
    gtk_single_selection_set_selected (self->notes_selection, position);
}

static void
search_changed_cb (TandemWindow *self)
{
  g_free (self->search);
  self->search = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
  _tandem_window_refresh_notes (self);
}

static void
trash_toggled_cb (TandemWindow *self)
{
  self->showing_trash = gtk_toggle_button_get_active (self->trash_button);
  _tandem_window_refresh_notes (self);
  _tandem_window_update_actions (self);
}

static void
back_clicked_cb (TandemWindow *self)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static gboolean
hide_status (gpointer data)
{
  TandemWindow *self = data;

  self->status_id = 0;
  gtk_revealer_set_reveal_child (self->status_revealer, FALSE);
  return G_SOURCE_REMOVE;
}

/* A line above the notes for a while: what just happened on the network. */
void
_tandem_window_show_status (TandemWindow *self,
                            const char   *message)
{
  g_clear_handle_id (&self->status_id, g_source_remove);
  gtk_label_set_label (self->status_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->status_revealer, message != NULL);
  if (message != NULL)
    self->status_id = g_timeout_add_seconds (10, hide_status, self);
}

/* ---- what the peer says ---- */

static gboolean
peer_changed_idle (gpointer data)
{
  TandemWindow *self = data;

  self->peer_changed_id = 0;
  update_title (self);
  _tandem_window_show_remote_cursors (self);
  _tandem_window_update_peers (self);
  /* who is in which note */
  queue_refresh_idle (self);
  return G_SOURCE_REMOVE;
}

/* The peer changes with every batch from another member: what shows it
 * (carets, the members list) follows at most every 50 ms. */
static void
peer_changed_cb (TandemPeer   *peer,
                 TandemWindow *self)
{
  if (self->peer_changed_id == 0)
    self->peer_changed_id = g_timeout_add (50, peer_changed_idle, self);
}

static void
remote_change_cb (TandemPeer   *peer,
                  const char   *note_id,
                  guint64       author,
                  TandemWindow *self)
{
  TandemSavedNote *open = tandem_note_editor_get_note (self->editor);

  if (open && g_str_equal (note_id, tandem_saved_note_get_id (open)))
    update_title (self);
}

/* The list shows what the store holds: a note's row is read again once the
 * note is saved, local edits and remote alike. */
static void
note_saved_cb (TandemPeer   *peer,
               const char   *note_id,
               TandemWindow *self)
{
  queue_note_refresh (self, note_id);
}

static void
notice_cb (TandemPeer   *peer,
           const char   *kind,
           const char   *message,
           TandemWindow *self)
{
  g_free (self->network_notice);
  self->network_notice = g_strdup (message);
  /* refused peers and an unreachable Avahi are worth a glance; the rest
   * goes to the peers popover */
  if (g_str_equal (kind, "notice") || strstr (message, "pinned") || strstr (message, "proof"))
    _tandem_window_show_status (self, message);
  _tandem_window_update_peers (self);
}

static void
peer_connected_cb (TandemPeer   *peer,
                   gpointer      session,
                   TandemWindow *self)
{
  _tandem_window_reload_notebooks (self);
  _tandem_window_update_peers (self);
  /* "Joined…", "Connecting…" have served */
  _tandem_window_show_status (self, NULL);
}

static void
peer_disconnected_cb (TandemPeer   *peer,
                      gpointer      session,
                      const char   *reason,
                      TandemWindow *self)
{
  _tandem_window_update_peers (self);
}

/* ---- the peers popover ---- */

static GtkWidget *
peer_row (const char *name,
          const char *detail,
          const char *state)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *badge = gtk_label_new (state);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), detail ? detail : "");
  gtk_widget_add_css_class (badge, "caption");
  gtk_widget_add_css_class (badge, g_str_equal (state, _("offline")) ? "dim-label" : "accent");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), badge);
  return row;
}

/* One member's row, as name, detail and state, one after the other. */
static void
add_peer_row (GPtrArray  *rows,
              const char *name,
              char       *detail,
              const char *state)
{
  g_ptr_array_add (rows, g_strdup (name));
  g_ptr_array_add (rows, detail);
  g_ptr_array_add (rows, g_strdup (state));
}

void
_tandem_window_update_peers (TandemWindow *self)
{
  GPtrArray *sessions = tandem_peer_get_sessions (self->peer);
  g_autoptr(GHashTable) online = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);
  GtkWidget *child;
  guint n_rows;

  for (guint i = 0; i < sessions->len; i++)
    {
      TandemSyncSession *session = g_ptr_array_index (sessions, i);
      const char *note_id = tandem_sync_session_get_presence_note (session);
      const char *host = tandem_transport_get_remote_host (tandem_sync_session_get_transport (session));
      const char *where = NULL;
      g_autoptr(GVariant) title = NULL;
      guint64 *peer;

      if (!tandem_sync_session_is_open (session))
        continue;
      peer = g_new (guint64, 1);
      *peer = tandem_sync_session_get_remote_peer (session);
      if (g_hash_table_contains (online, peer))
        {
          g_free (peer);
          continue;
        }
      g_hash_table_add (online, peer);
      if (note_id != NULL)
        {
          TandemSavedNote *saved = tandem_peer_get_note (self->peer, note_id, NULL);

          title = saved ? tandem_note_dup_field (tandem_saved_note_get_note (saved), "title") : NULL;
          where = title && g_variant_is_of_type (title, G_VARIANT_TYPE_STRING) && *g_variant_get_string (title, NULL)
                  ? g_variant_get_string (title, NULL) : _("a note");
        }
      add_peer_row (rows, tandem_sync_session_get_remote_name (session),
                    /* Translators: a member's row: where they are, and over what */
                    where ? g_strdup_printf (_("In “%s” · %s"), where, host)
                          : g_strdup_printf (_("Connected · %s"), host),
                    g_str_equal (tandem_sync_session_get_presence_state (session), "idle") ? _("idle") : _("online"));
    }
  /* members of this notebook who are not here */
  members = self->notebook_id ? tandem_store_list_members (self->store, self->notebook_id, NULL) : NULL;
  for (guint i = 0; members && i < members->len; i++)
    {
      TandemStoreMember *member = g_ptr_array_index (members, i);

      if (!g_hash_table_contains (online, &member->peer_id))
        add_peer_row (rows, member->name, g_strdup (_("Not connected")), _("offline"));
    }

  /* this runs with every batch from another member: the rows are made
   * again only when what they say changed */
  g_ptr_array_add (rows, NULL);
  if (self->peer_rows == NULL || !g_strv_equal ((const char * const *) self->peer_rows, (const char * const *) rows->pdata))
    {
      g_strfreev (self->peer_rows);
      self->peer_rows = g_strdupv ((char **) rows->pdata);
      while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->peers_list))) != NULL)
        gtk_list_box_remove (self->peers_list, child);
      for (guint i = 0; self->peer_rows[i] != NULL; i += 3)
        gtk_list_box_append (self->peers_list,
                             peer_row (self->peer_rows[i], self->peer_rows[i + 1], self->peer_rows[i + 2]));
    }
  n_rows = (rows->len - 1) / 3;
  gtk_widget_set_visible (GTK_WIDGET (self->peers_list), n_rows > 0);
  /* the name may have changed in the preferences */
  g_free (self->name);
  self->name = tandem_store_dup_display_name (self->store);
  {
    g_autofree char *text = g_strdup_printf (_("You are %s, listening on port %u.%s%s"),
                                             self->name, tandem_peer_get_port (self->peer),
                                             self->network_notice ? "\n" : "",
                                             self->network_notice ? self->network_notice : "");

    gtk_label_set_label (self->network_label, text);
  }
}

/* ---- the object ---- */

static void
tandem_window_close_request_save (TandemWindow *self)
{
  tandem_note_editor_flush (self->editor);
}

static gboolean
tandem_window_close_request (GtkWindow *window)
{
  GtkApplication *app = gtk_window_get_application (window);
  GSettings *settings = TANDEM_IS_APPLICATION (app) ? tandem_application_get_settings (TANDEM_APPLICATION (app)) : NULL;

  tandem_window_close_request_save (TANDEM_WINDOW (window));
  if (settings != NULL)
    {
      int width, height;

      gtk_window_get_default_size (window, &width, &height);
      g_settings_set_int (settings, "window-width", width);
      g_settings_set_int (settings, "window-height", height);
      g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));
      if (TANDEM_WINDOW (window)->notebook_id != NULL)
        g_settings_set_string (settings, "last-notebook", TANDEM_WINDOW (window)->notebook_id);
    }
  return GTK_WINDOW_CLASS (tandem_window_parent_class)->close_request (window);
}

static void
setup_row_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item)
{
  gtk_list_item_set_child (list_item, tandem_note_row_new ());
}

static void
bind_row_cb (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item)
{
  tandem_note_row_set_item (TANDEM_NOTE_ROW (gtk_list_item_get_child (list_item)),
                            gtk_list_item_get_item (list_item));
}

static void
unbind_row_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item)
{
  tandem_note_row_set_item (TANDEM_NOTE_ROW (gtk_list_item_get_child (list_item)), NULL);
}

/* A list view makes rows only for the notes in sight, so that a notebook
 * of a thousand notes opens as fast as one of ten. */
static void
init_note_list (TandemWindow *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  GtkSortListModel *sorted;

  self->notes = g_list_store_new (TANDEM_TYPE_NOTE_ITEM);
  self->notes_sorter = GTK_SORTER (gtk_custom_sorter_new (tandem_note_item_compare, NULL, NULL));
  sorted = gtk_sort_list_model_new (G_LIST_MODEL (self->notes), self->notes_sorter);
  self->notes_selection = gtk_single_selection_new (G_LIST_MODEL (sorted));
  gtk_single_selection_set_autoselect (self->notes_selection, FALSE);
  gtk_single_selection_set_can_unselect (self->notes_selection, TRUE);
  g_signal_connect_swapped (self->notes_selection, "notify::selected-item", G_CALLBACK (selected_note_cb), self);
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row_cb), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_row_cb), NULL);
  gtk_list_view_set_factory (self->notes_view, factory);
  gtk_list_view_set_model (self->notes_view, GTK_SELECTION_MODEL (self->notes_selection));
}

static void
tandem_window_dispose (GObject *object)
{
  TandemWindow *self = TANDEM_WINDOW (object);

  /* first, so that taking the widgets apart calls nothing back here */
  if (self->editor != NULL && tandem_note_editor_get_view (self->editor) != NULL)
    g_signal_handlers_disconnect_by_data (gtk_text_view_get_buffer (GTK_TEXT_VIEW (tandem_note_editor_get_view (self->editor))),
                                          self);
  if (self->notes_selection != NULL)
    g_signal_handlers_disconnect_by_data (self->notes_selection, self);
  if (self->peer != NULL)
    g_signal_handlers_disconnect_by_data (self->peer, self);
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  g_clear_handle_id (&self->presence_id, g_source_remove);
  g_clear_handle_id (&self->idle_id, g_source_remove);
  g_clear_handle_id (&self->status_id, g_source_remove);
  g_clear_handle_id (&self->peer_changed_id, g_source_remove);
  /* an empty list view has nothing to measure while the window is taken
   * apart */
  if (self->notes_view != NULL)
    gtk_list_view_set_model (self->notes_view, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), TANDEM_TYPE_WINDOW);
  G_OBJECT_CLASS (tandem_window_parent_class)->dispose (object);
}

static void
tandem_window_finalize (GObject *object)
{
  TandemWindow *self = TANDEM_WINDOW (object);

  g_clear_object (&self->notes_selection);
  g_clear_object (&self->peer);
  g_clear_object (&self->store);
  g_ptr_array_unref (self->notebook_ids);
  g_hash_table_unref (self->stale_notes);
  g_free (self->notebook_id);
  g_free (self->search);
  g_free (self->name);
  g_free (self->network_notice);
  g_strfreev (self->peer_rows);
  G_OBJECT_CLASS (tandem_window_parent_class)->finalize (object);
}

static void
tandem_window_class_init (TandemWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = tandem_window_dispose;
  G_OBJECT_CLASS (klass)->finalize = tandem_window_finalize;
  GTK_WINDOW_CLASS (klass)->close_request = tandem_window_close_request;

  g_type_ensure (TANDEM_TYPE_NOTE_EDITOR);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/tandemnotes/Tandem/tandem-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, notebook_dropdown);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, peers_list);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, network_label);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, trash_button);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, status_revealer);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, list_stack);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, notes_view);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, TandemWindow, editor);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, trash_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, back_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, _tandem_window_resolve_conflict);
  _tandem_window_class_init_actions (widget_class);
}

static void
tandem_window_init (TandemWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->notebook_ids = g_ptr_array_new_with_free_func (g_free);
  self->stale_notes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  init_note_list (self);
  g_signal_connect_swapped (self->notebook_dropdown, "notify::selected", G_CALLBACK (notebook_selected_cb), self);
}

/**
 * tandem_window_new:
 *
 * Returns: (transfer full): a window over @peer's notebooks
 */
TandemWindow *
tandem_window_new (TandemApplication *app,
                   TandemPeer        *peer)
{
  TandemWindow *self = g_object_new (TANDEM_TYPE_WINDOW, "application", app, NULL);
  GtkTextBuffer *buffer;
  GSettings *settings;
  g_autofree char *last_notebook = NULL;

  self->peer = g_object_ref (peer);
  self->store = g_object_ref (tandem_peer_get_store (peer));
  settings = tandem_application_get_settings (app);
  if (settings != NULL)
    {
      g_autofree char *last = g_settings_get_string (settings, "last-notebook");

      gtk_window_set_default_size (GTK_WINDOW (self), g_settings_get_int (settings, "window-width"),
                                   g_settings_get_int (settings, "window-height"));
      if (g_settings_get_boolean (settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
      last_notebook = g_steal_pointer (&last);
    }
  self->name = tandem_store_dup_display_name (self->store);
  tandem_note_editor_set_peer (self->editor, peer);
  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (tandem_note_editor_get_view (self->editor)));
  g_signal_connect (buffer, "mark-set", G_CALLBACK (mark_set_cb), self);
  g_signal_connect_swapped (buffer, "changed", G_CALLBACK (buffer_changed_cb), self);
  g_signal_connect (peer, "changed", G_CALLBACK (peer_changed_cb), self);
  g_signal_connect (peer, "remote-change", G_CALLBACK (remote_change_cb), self);
  g_signal_connect (peer, "note-saved", G_CALLBACK (note_saved_cb), self);
  g_signal_connect (peer, "note-reloaded", G_CALLBACK (note_saved_cb), self);
  g_signal_connect (peer, "notice", G_CALLBACK (notice_cb), self);
  g_signal_connect (peer, "peer-connected", G_CALLBACK (peer_connected_cb), self);
  g_signal_connect (peer, "peer-disconnected", G_CALLBACK (peer_disconnected_cb), self);

  _tandem_window_reload_notebooks (self);
  /* the notebook shown last time, if it is still there */
  for (guint i = 0; last_notebook != NULL && i < self->notebook_ids->len; i++)
    if (g_str_equal (g_ptr_array_index (self->notebook_ids, i), last_notebook))
      _tandem_window_select_notebook (self, last_notebook);
  _tandem_window_update_peers (self);
  _tandem_window_update_actions (self);
  user_active (self);
  return self;
}

TandemNoteEditor *
tandem_window_get_editor (TandemWindow *self)
{
  g_return_val_if_fail (TANDEM_IS_WINDOW (self), NULL);
  return self->editor;
}

const char *
tandem_window_get_notebook (TandemWindow *self)
{
  g_return_val_if_fail (TANDEM_IS_WINDOW (self), NULL);
  return self->notebook_id;
}

/**
 * tandem_window_show_note:
 *
 * Shows a note, in its notebook (GNOME Shell's search picked it).
 */
void
tandem_window_show_note (TandemWindow *self,
                         const char   *note_id)
{
  const char *notebook_id;

  g_return_if_fail (TANDEM_IS_WINDOW (self));

  notebook_id = tandem_peer_get_note_notebook (self->peer, note_id);
  if (notebook_id == NULL)
    return;
  gtk_toggle_button_set_active (self->trash_button, FALSE);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  _tandem_window_select_notebook (self, notebook_id);
  _tandem_window_refresh_notes (self);
  _tandem_window_open_note (self, note_id);
  _tandem_window_select_row (self, note_id);
}

/**
 * tandem_window_search:
 *
 * Shows the notes that hold @text.
 */
void
tandem_window_search (TandemWindow *self,
                      const char   *text)
{
  g_return_if_fail (TANDEM_IS_WINDOW (self));

  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text);
  search_changed_cb (self);
}
