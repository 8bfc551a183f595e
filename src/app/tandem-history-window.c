/* tandem-history-window.c: a note's past versions, and restoring one
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every commit that adds events marks a version of the note (its first N
 * events; see tandem_store_list_versions()). Listing each would bury the
 * past under keystroke batches, so versions are grouped as `tandem-peer
 * history` groups them: by the same authors, each within GROUP_USEC of the
 * one before, with a named snapshot on its own. A group shows the text as
 * its newest version left it.
 *
 * Restoring is an ordinary edit that makes the old text today's, so it
 * syncs, merges with what others type meanwhile and is undone with Ctrl+Z.
 * When the main window's editor shows the note, the edit goes through the
 * editor's buffer: the engine does not tell anyone about local edits, so
 * editing the note behind the buffer's back would leave the two apart.
 * Otherwise tandem_saved_note_restore_version() edits the note directly.
 */
#include "tandem-history-window.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "tandem-event-codec.h"

/* Versions closer than this, by the same authors, show as one step (as in
 * `tandem-peer history`). */
#define GROUP_USEC (10 * 60 * G_USEC_PER_SEC)

/* The list follows new versions this long after the last change. */
#define RELOAD_MS 300

typedef struct
{
  guint64  n_events;      /* the group's newest version: the text shown */
  gint64   start;
  gint64   end;
  char    *who;
  char    *name;          /* a named snapshot's */
} HistoryGroup;

struct _TandemHistoryWindow
{
  AdwWindow parent_instance;

  /* template */
  AdwWindowTitle *window_title;
  GtkStack *stack;
  GtkListBox *versions_list;
  GtkLabel *preview_label;
  GtkSourceView *preview;

  TandemPeer *peer;
  TandemSavedNote *saved;
  TandemNoteEditor *editor;
  GArray *groups;               /* HistoryGroup, oldest first */
  guint n_versions;             /* what the list was made from */
  guint64 last_n_events;
  guint64 shown_n_events;       /* in the preview, or 0 */
  guint reload_id;
};

G_DEFINE_FINAL_TYPE (TandemHistoryWindow, tandem_history_window, ADW_TYPE_WINDOW)

static void
history_group_clear (HistoryGroup *group)
{
  g_free (group->who);
  g_free (group->name);
}

static TandemNote *
get_note (TandemHistoryWindow *self)
{
  /* the TandemNote can be replaced (see TandemPeer::note-reloaded) */
  return tandem_saved_note_get_note (self->saved);
}

/* ---- the list ---- */

/* "You, Ann": names for the authors of a version, a JSON array of ids. */
static char *
dup_authors (TandemHistoryWindow *self,
             const char          *authors,
             GHashTable          *names)
{
  g_autoptr(JsonNode) root = json_from_string (authors, NULL);
  g_autoptr(GPtrArray) who = g_ptr_array_new ();
  JsonArray *ids;

  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return g_strdup (_("Unknown"));
  ids = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (ids); i++)
    {
      const char *id = json_array_get_string_element (ids, i);
      const char *name = id ? g_hash_table_lookup (names, id) : NULL;

      /* a member who has left, or a peer that relayed another's edit */
      g_ptr_array_add (who, (gpointer) (name ? name : _("Someone else")));
    }
  if (who->len == 0)
    return g_strdup (_("Unknown"));
  g_ptr_array_add (who, NULL);
  return g_strjoinv (", ", (char **) who->pdata);
}

/* Peer id (as in a version's authors) -> the name to show. */
static GHashTable *
dup_author_names (TandemHistoryWindow *self)
{
  GHashTable *names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *notebook_id = tandem_peer_get_note_notebook (self->peer, tandem_saved_note_get_id (self->saved));
  g_autoptr(GPtrArray) members = NULL;

  if (notebook_id != NULL)
    members = tandem_store_list_members (tandem_peer_get_store (self->peer), notebook_id, NULL);
  for (guint i = 0; members && i < members->len; i++)
    {
      TandemStoreMember *member = g_ptr_array_index (members, i);

      g_hash_table_insert (names, tandem_peer_id_to_string (member->peer_id), g_strdup (member->name));
    }
  g_hash_table_insert (names, tandem_peer_id_to_string (tandem_peer_get_id (self->peer)), g_strdup (_("You")));
  return names;
}

static char *
format_time (gint64 usec)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);

  /* Translators: a time of day in the history, see strftime(3) */
  return g_date_time_format (time, _("%H:%M"));
}

/* "Today", "Yesterday", "Monday, 3 June"... for the list's day headers. */
static char *
format_day (gint64 usec)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) today = g_date_time_new_local (g_date_time_get_year (now), g_date_time_get_month (now),
                                                      g_date_time_get_day_of_month (now), 0, 0, 0);
  GTimeSpan ago = g_date_time_difference (today, time);

  if (ago <= 0)
    return g_strdup (_("Today"));
  if (ago <= G_TIME_SPAN_DAY)
    return g_strdup (_("Yesterday"));
  if (g_date_time_get_year (time) == g_date_time_get_year (now))
    /* Translators: a day this year, see strftime(3) */
    return g_date_time_format (time, _("%A, %B %-d"));
  /* Translators: a day in another year, see strftime(3) */
  return g_date_time_format (time, _("%B %-d, %Y"));
}

static char *
describe_group (const HistoryGroup *group)
{
  g_autofree char *start = format_time (group->start);
  g_autofree char *end = format_time (group->end);

  if (g_str_equal (start, end))
    return g_steal_pointer (&start);
  /* Translators: a stretch of editing, from one time of day to another */
  return g_strdup_printf (_("%s – %s"), start, end);
}

static GtkWidget *
group_row (const HistoryGroup *group,
           gboolean            current)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new (group->name ? group->name : group->who);
  g_autofree char *when = describe_group (group);
  /* Translators: under a named version: who made it, and when */
  g_autofree char *detail = group->name ? g_strdup_printf (_("%s · %s"), group->who, when) : g_steal_pointer (&when);
  GtkWidget *subtitle = gtk_label_new (detail);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  if (group->name != NULL)
    gtk_widget_add_css_class (title, "heading");
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_label_set_ellipsize (GTK_LABEL (subtitle), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_set_hexpand (text, TRUE);
  gtk_box_append (GTK_BOX (text), title);
  gtk_box_append (GTK_BOX (text), subtitle);
  gtk_box_append (GTK_BOX (box), text);
  if (group->name != NULL)
    {
      GtkWidget *kept = gtk_image_new_from_icon_name ("starred-symbolic");

      gtk_widget_set_tooltip_text (kept, _("A named version, always kept"));
      gtk_box_append (GTK_BOX (box), kept);
    }
  if (current)
    {
      GtkWidget *badge = gtk_label_new (_("Current"));

      gtk_widget_add_css_class (badge, "caption");
      gtk_widget_add_css_class (badge, "accent");
      gtk_box_append (GTK_BOX (box), badge);
    }
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  return row;
}

/* The list is newest first; row i is group len - 1 - i. */
static HistoryGroup *
row_group (TandemHistoryWindow *self,
           GtkListBoxRow       *row)
{
  int i = row ? gtk_list_box_row_get_index (row) : -1;

  if (i < 0 || (guint) i >= self->groups->len)
    return NULL;
  return &g_array_index (self->groups, HistoryGroup, self->groups->len - 1 - i);
}

static void
header_func (GtkListBoxRow *row,
             GtkListBoxRow *before,
             gpointer       user_data)
{
  TandemHistoryWindow *self = user_data;
  HistoryGroup *group = row_group (self, row);
  HistoryGroup *previous = row_group (self, before);
  g_autofree char *day = group ? format_day (group->end) : NULL;
  g_autofree char *previous_day = previous ? format_day (previous->end) : NULL;
  GtkWidget *label;

  if (day == NULL || g_strcmp0 (day, previous_day) == 0)
    {
      gtk_list_box_row_set_header (row, NULL);
      return;
    }
  label = gtk_label_new (day);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_top (label, before ? 18 : 6);
  gtk_widget_set_margin_bottom (label, 6);
  gtk_list_box_row_set_header (row, label);
}

static void
update_restore (TandemHistoryWindow *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->preview));
  g_autofree char *now = tandem_note_dup_text (get_note (self));
  g_autofree char *then = NULL;
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  then = gtk_text_buffer_get_text (buffer, &start, &end, TRUE);
  /* restoring what is already there would only add an empty step to undo */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "history.restore",
                                 self->shown_n_events > 0 && !g_str_equal (now, then));
}

static void
show_group (TandemHistoryWindow *self,
            HistoryGroup        *group)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->preview));
  g_autofree char *text = NULL;
  g_autofree char *when = NULL;
  g_autofree char *day = NULL;
  g_autofree char *label = NULL;

  if (group == NULL || group->n_events == self->shown_n_events)
    {
      update_restore (self);
      return;
    }
  text = tandem_note_dup_text_at (get_note (self), (guint) MIN (group->n_events, G_MAXUINT));
  self->shown_n_events = text ? group->n_events : 0;
  gtk_text_buffer_set_text (buffer, text ? text : "", -1);
  day = format_day (group->end);
  when = format_time (group->end);
  /* Translators: above an old version's text: a day, a time of day and
   * who wrote it, "Yesterday at 14:10 · Ann, You" */
  label = g_strdup_printf (_("%s at %s · %s"), day, when, group->who);
  if (text == NULL)
    gtk_label_set_label (self->preview_label, _("This version cannot be shown"));
  else if (*text == '\0')
    {
      /* Translators: above an old version that had no text */
      g_autofree char *empty = g_strdup_printf (_("%s · The note was empty"), label);

      gtk_label_set_label (self->preview_label, empty);
    }
  else
    gtk_label_set_label (self->preview_label, label);
  update_restore (self);
}

static void
row_selected_cb (TandemHistoryWindow *self,
                 GtkListBoxRow       *row)
{
  show_group (self, row_group (self, row));
}

static void
reload (TandemHistoryWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) versions = tandem_store_list_versions (tandem_peer_get_store (self->peer),
                                                              tandem_saved_note_get_id (self->saved), &error);
  g_autoptr(GHashTable) names = NULL;
  HistoryGroup *selected = row_group (self, gtk_list_box_get_selected_row (self->versions_list));
  guint64 keep = selected ? selected->n_events : 0;
  guint64 current = tandem_note_get_n_events (get_note (self));
  GtkWidget *child;
  GtkListBoxRow *select = NULL;

  if (versions == NULL)
    {
      g_warning ("Cannot list the versions of note %s: %s", tandem_saved_note_get_id (self->saved), error->message);
      versions = g_ptr_array_new ();
    }
  /* nothing new: keep the list as it is, and where it is scrolled to */
  if (versions->len == self->n_versions &&
      (versions->len == 0 ||
       ((TandemStoreVersion *) g_ptr_array_index (versions, versions->len - 1))->n_events == self->last_n_events))
    {
      update_restore (self);
      return;
    }
  self->n_versions = versions->len;
  self->last_n_events = versions->len ? ((TandemStoreVersion *) g_ptr_array_index (versions, versions->len - 1))->n_events : 0;

  names = dup_author_names (self);
  g_array_set_size (self->groups, 0);
  for (guint i = 0; i < versions->len;)
    {
      TandemStoreVersion *first = g_ptr_array_index (versions, i);
      TandemStoreVersion *last = first;
      HistoryGroup group = { 0 };

      for (i++; first->name == NULL && i < versions->len; i++)
        {
          TandemStoreVersion *next = g_ptr_array_index (versions, i);

          if (next->name != NULL || g_strcmp0 (next->authors, first->authors) != 0 ||
              next->time - last->time > GROUP_USEC)
            break;
          last = next;
        }
      group.n_events = last->n_events;
      group.start = first->time;
      group.end = last->time;
      group.who = dup_authors (self, first->authors, names);
      group.name = g_strdup (first->name);
      g_array_append_val (self->groups, group);
    }

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->versions_list))) != NULL)
    gtk_list_box_remove (self->versions_list, child);
  for (guint i = self->groups->len; i > 0; i--)
    {
      HistoryGroup *group = &g_array_index (self->groups, HistoryGroup, i - 1);
      GtkWidget *row = group_row (group, i == self->groups->len && group->n_events == current);

      gtk_list_box_append (self->versions_list, row);
      if (keep != 0 && group->n_events == keep)
        select = GTK_LIST_BOX_ROW (row);
    }
  /* the newest, unless one was chosen and is still there */
  if (select == NULL)
    select = gtk_list_box_get_row_at_index (self->versions_list, 0);
  gtk_list_box_select_row (self->versions_list, select);
  gtk_stack_set_visible_child_name (self->stack, self->groups->len > 0 ? "versions" : "empty");
  update_restore (self);
}

static gboolean
reload_timeout (gpointer data)
{
  TandemHistoryWindow *self = data;

  self->reload_id = 0;
  reload (self);
  return G_SOURCE_REMOVE;
}

/* Commits here and from other members both end in TandemPeer::changed. */
static void
peer_changed_cb (TandemHistoryWindow *self)
{
  if (self->reload_id == 0)
    self->reload_id = g_timeout_add (RELOAD_MS, reload_timeout, self);
}

static void
update_title (TandemHistoryWindow *self)
{
  g_autoptr(GVariant) title = tandem_note_dup_field (get_note (self), "title");

  adw_window_title_set_subtitle (self->window_title,
                                 title && g_variant_is_of_type (title, G_VARIANT_TYPE_STRING)
                                 ? g_variant_get_string (title, NULL) : "");
}

/* ---- restoring ---- */

/* Replaces, in the editor's buffer, the part of today's text that differs
 * from @old, in one user action, so the binding makes it one undoable
 * engine edit; as tandem_saved_note_restore_version() does on the note. */
static void
restore_in_buffer (TandemHistoryWindow *self,
                   const char          *old)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (tandem_note_editor_get_view (self->editor)));
  GtkTextIter start, end;
  g_autofree char *now = NULL;
  g_autofree gunichar *a = NULL, *z = NULL;
  glong na, nz, head = 0, tail = 0;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  now = gtk_text_buffer_get_text (buffer, &start, &end, TRUE);
  a = g_utf8_to_ucs4_fast (now, -1, &na);
  z = g_utf8_to_ucs4_fast (old, -1, &nz);
  while (head < na && head < nz && a[head] == z[head])
    head++;
  while (tail < na - head && tail < nz - head && a[na - 1 - tail] == z[nz - 1 - tail])
    tail++;

  gtk_text_buffer_begin_user_action (buffer);
  if (na - head - tail > 0)
    {
      gtk_text_buffer_get_iter_at_offset (buffer, &start, (int) head);
      gtk_text_buffer_get_iter_at_offset (buffer, &end, (int) (na - tail));
      gtk_text_buffer_delete (buffer, &start, &end);
    }
  if (nz - head - tail > 0)
    {
      const char *from = g_utf8_offset_to_pointer (old, head);

      gtk_text_buffer_get_iter_at_offset (buffer, &start, (int) head);
      gtk_text_buffer_insert (buffer, &start, from, (int) (g_utf8_offset_to_pointer (from, nz - head - tail) - from));
    }
  gtk_text_buffer_end_user_action (buffer);

  /* the caret after what came back, where the user looks next */
  gtk_text_buffer_get_iter_at_offset (buffer, &start, (int) (nz - tail));
  gtk_text_buffer_place_cursor (buffer, &start);
  gtk_text_view_scroll_mark_onscreen (GTK_TEXT_VIEW (tandem_note_editor_get_view (self->editor)),
                                      gtk_text_buffer_get_insert (buffer));
  /* saved and sent now rather than with the next batch of typing */
  tandem_buffer_binding_flush (tandem_note_editor_get_binding (self->editor));
}

static void
show_error (TandemHistoryWindow *self,
            const GError        *error)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), _("The Version Was Not Restored"),
                                              error->message);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
restore_action (GtkWidget  *widget,
                const char *action,
                GVariant   *parameter)
{
  TandemHistoryWindow *self = TANDEM_HISTORY_WINDOW (widget);
  g_autoptr(GError) error = NULL;

  if (self->shown_n_events == 0)
    return;
  if (self->editor != NULL && tandem_note_editor_get_note (self->editor) == self->saved)
    {
      g_autofree char *old = tandem_note_dup_text_at (get_note (self), (guint) MIN (self->shown_n_events, G_MAXUINT));

      if (old == NULL)
        return;
      restore_in_buffer (self, old);
    }
  else if (!tandem_saved_note_restore_version (self->saved, self->shown_n_events, &error) ||
           !tandem_peer_commit (self->peer, self->saved, &error))
    {
      show_error (self, error);
      return;
    }
  gtk_window_close (GTK_WINDOW (self));
}

/* GtkSourceView's schemes do not follow libadwaita's dark style by
 * themselves. */
static void
update_scheme (TandemHistoryWindow *self)
{
  GtkSourceStyleSchemeManager *schemes = gtk_source_style_scheme_manager_get_default ();
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  GtkSourceStyleScheme *scheme = gtk_source_style_scheme_manager_get_scheme (schemes, dark ? "Adwaita-dark" : "Adwaita");

  if (scheme != NULL)
    gtk_source_buffer_set_style_scheme (GTK_SOURCE_BUFFER (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->preview))),
                                        scheme);
}

/* ---- the object ---- */

static void
tandem_history_window_dispose (GObject *object)
{
  TandemHistoryWindow *self = TANDEM_HISTORY_WINDOW (object);

  g_clear_handle_id (&self->reload_id, g_source_remove);
  g_signal_handlers_disconnect_by_data (adw_style_manager_get_default (), self);
  /* the list's rows go with the template, and would select nothing */
  if (self->versions_list != NULL)
    g_signal_handlers_disconnect_by_data (self->versions_list, self);
  if (self->peer != NULL)
    g_signal_handlers_disconnect_by_data (self->peer, self);
  g_clear_object (&self->peer);
  g_clear_object (&self->saved);
  g_clear_object (&self->editor);
  gtk_widget_dispose_template (GTK_WIDGET (self), TANDEM_TYPE_HISTORY_WINDOW);
  G_OBJECT_CLASS (tandem_history_window_parent_class)->dispose (object);
}

static void
tandem_history_window_finalize (GObject *object)
{
  TandemHistoryWindow *self = TANDEM_HISTORY_WINDOW (object);

  g_array_unref (self->groups);
  G_OBJECT_CLASS (tandem_history_window_parent_class)->finalize (object);
}

static void
tandem_history_window_class_init (TandemHistoryWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = tandem_history_window_dispose;
  G_OBJECT_CLASS (klass)->finalize = tandem_history_window_finalize;

  g_type_ensure (GTK_SOURCE_TYPE_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/tandemnotes/Tandem/tandem-history-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TandemHistoryWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, TandemHistoryWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, TandemHistoryWindow, versions_list);
  gtk_widget_class_bind_template_child (widget_class, TandemHistoryWindow, preview_label);
  gtk_widget_class_bind_template_child (widget_class, TandemHistoryWindow, preview);
  gtk_widget_class_bind_template_callback (widget_class, row_selected_cb);

  gtk_widget_class_install_action (widget_class, "history.restore", NULL, restore_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
tandem_history_window_init (TandemHistoryWindow *self)
{
  GtkSourceLanguage *markdown = gtk_source_language_manager_get_language (gtk_source_language_manager_get_default (),
                                                                          "markdown");

  gtk_widget_init_template (GTK_WIDGET (self));
  self->groups = g_array_new (FALSE, TRUE, sizeof (HistoryGroup));
  g_array_set_clear_func (self->groups, (GDestroyNotify) history_group_clear);
  self->n_versions = G_MAXUINT;   /* so the first reload builds the list */
  gtk_list_box_set_header_func (self->versions_list, header_func, self, NULL);
  if (markdown != NULL)
    gtk_source_buffer_set_language (GTK_SOURCE_BUFFER (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->preview))),
                                    markdown);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "history.restore", FALSE);
  update_scheme (self);
  g_signal_connect_swapped (adw_style_manager_get_default (), "notify::dark", G_CALLBACK (update_scheme), self);
}

/**
 * tandem_history_window_new:
 * @parent: the window it belongs to
 * @saved: the note
 * @editor: (nullable): the editor that may show @saved; restoring goes
 *   through it while it does
 *
 * Returns: (transfer none): the history of @saved, to present
 */
TandemHistoryWindow *
tandem_history_window_new (GtkWindow        *parent,
                           TandemPeer       *peer,
                           TandemSavedNote  *saved,
                           TandemNoteEditor *editor)
{
  TandemHistoryWindow *self = g_object_new (TANDEM_TYPE_HISTORY_WINDOW, "transient-for", parent, NULL);

  self->peer = g_object_ref (peer);
  self->saved = g_object_ref (saved);
  self->editor = editor ? g_object_ref (editor) : NULL;
  g_signal_connect_swapped (peer, "changed", G_CALLBACK (peer_changed_cb), self);
  g_signal_connect_swapped (peer, "remote-change", G_CALLBACK (peer_changed_cb), self);
  update_title (self);
  reload (self);
  return self;
}
