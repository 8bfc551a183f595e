/* tandem-window-actions.c: what the window can do, and its small dialogs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every action has a shortcut or a menu item (the shortcuts window lists
 * them). The dialogs are AdwMessageDialogs: a question, an entry or a list,
 * and an answer.
 */
#include "tandem-window-private.h"

#include <glib/gi18n.h>

#include "tandem-event-codec.h"
#include "tandem-history-window.h"

void
_tandem_window_update_actions (TandemWindow *self)
{
  TandemSavedNote *saved = tandem_note_editor_get_note (self->editor);
  TandemNote *note = saved ? tandem_saved_note_get_note (saved) : NULL;
  g_autoptr(GVariant) trashed = note ? tandem_note_dup_field (note, "trashed") : NULL;
  gboolean shared = self->notebook_id != NULL &&
                    g_strcmp0 (self->notebook_id, tandem_store_get_private_notebook_id (self->store)) != 0;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.trash-note", note != NULL && trashed == NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.restore-note", note != NULL && trashed != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo", note != NULL && tandem_note_can_undo (note));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.redo", note != NULL && tandem_note_can_redo (note));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.share", shared);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.history", note != NULL);
}

static GtkWidget *
message_dialog (TandemWindow *self,
                const char   *heading,
                const char   *body)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"));
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  return dialog;
}

static void
show_error (TandemWindow *self,
            const char   *heading,
            const GError *error)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, error->message);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- notes ---- */

static void
new_note_action (GtkWidget  *widget,
                 const char *action,
                 GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);
  g_autoptr(GError) error = NULL;
  TandemSavedNote *saved;

  if (self->notebook_id == NULL)
    return;
  saved = tandem_peer_create_note (self->peer, self->notebook_id, &error);
  if (saved == NULL || !tandem_peer_commit (self->peer, saved, &error))
    {
      show_error (self, _("The Note Was Not Made"), error);
      return;
    }
  if (self->showing_trash)
    gtk_toggle_button_set_active (self->trash_button, FALSE);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  _tandem_window_refresh_notes (self);
  _tandem_window_open_note (self, tandem_saved_note_get_id (saved));
  _tandem_window_select_row (self, tandem_saved_note_get_id (saved));
}

static void
set_trashed (TandemWindow *self,
             gboolean      trashed)
{
  TandemSavedNote *saved = tandem_note_editor_get_note (self->editor);
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemEvent) event = NULL;

  if (saved == NULL)
    return;
  /* the time, so every peer's trash can empty itself after a while */
  event = tandem_note_set_field (tandem_saved_note_get_note (saved), "trashed",
                                 trashed ? g_variant_new_int64 (g_get_real_time () / G_USEC_PER_SEC) : NULL,
                                 &error);
  if (event == NULL || !tandem_peer_commit (self->peer, saved, &error))
    {
      show_error (self, _("The Note Was Not Moved"), error);
      return;
    }
  _tandem_window_open_note (self, NULL);
  _tandem_window_refresh_notes (self);
}

static void
trash_note_action (GtkWidget  *widget,
                   const char *action,
                   GVariant   *parameter)
{
  set_trashed (TANDEM_WINDOW (widget), TRUE);
}

static void
restore_note_action (GtkWidget  *widget,
                     const char *action,
                     GVariant   *parameter)
{
  set_trashed (TANDEM_WINDOW (widget), FALSE);
}

static void
undo_action (GtkWidget  *widget,
             const char *action,
             GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);

  tandem_buffer_binding_undo (tandem_note_editor_get_binding (self->editor), g_str_equal (action, "win.redo"));
  _tandem_window_update_actions (self);
}

static void
search_action (GtkWidget  *widget,
               const char *action,
               GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);

  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
history_action (GtkWidget  *widget,
                const char *action,
                GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);
  TandemSavedNote *saved = tandem_note_editor_get_note (self->editor);

  if (saved == NULL)
    return;
  /* what is being typed is a version too */
  tandem_note_editor_flush (self->editor);
  gtk_window_present (GTK_WINDOW (tandem_history_window_new (GTK_WINDOW (self), self->peer, saved, self->editor)));
}

/* ---- notebooks ---- */

static GtkWidget *
add_entry (GtkWidget  *dialog,
           const char *placeholder,
           const char *accessible)
{
  GtkWidget *entry = gtk_entry_new ();

  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), placeholder);
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  return entry;
}

static void
new_notebook_response_cb (AdwMessageDialog *dialog,
                          const char       *response,
                          TandemWindow     *self)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  g_autofree char *id = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_str_equal (response, "create"))
    return;
  id = tandem_peer_create_notebook (self->peer, *name ? name : _("Shared notes"), &error);
  if (id == NULL)
    {
      show_error (self, _("The Notebook Was Not Made"), error);
      return;
    }
  _tandem_window_reload_notebooks (self);
  _tandem_window_select_notebook (self, id);
}

static void
new_notebook_action (GtkWidget  *widget,
                     const char *action,
                     GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);
  GtkWidget *dialog = message_dialog (self, _("New Shared Notebook"),
                                      _("A notebook you can share with the people you write with."));

  add_entry (dialog, _("Name"), _("Notebook name"));
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "create", _("C_reate"));
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "create", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "create");
  g_signal_connect (dialog, "response", G_CALLBACK (new_notebook_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
copy_invite_cb (GtkButton *button,
                GtkLabel  *label)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (button)), gtk_label_get_label (label));
  gtk_button_set_label (button, _("Copied"));
}

static void
remove_member_cb (GtkButton    *button,
                  TandemWindow *self)
{
  guint64 peer = *(guint64 *) g_object_get_data (G_OBJECT (button), "peer");
  g_autoptr(GError) error = NULL;

  if (!tandem_peer_remove_member (self->peer, self->notebook_id, peer, &error))
    show_error (self, _("The Member Was Not Removed"), error);
  gtk_widget_set_sensitive (GTK_WIDGET (button), FALSE);
  _tandem_window_reload_notebooks (self);
  _tandem_window_update_peers (self);
}

static void
share_action (GtkWidget  *widget,
              const char *action,
              GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);
  g_autoptr(GError) error = NULL;
  g_autofree char *invite = tandem_peer_dup_invite (self->peer, self->notebook_id, &error);
  g_autoptr(GPtrArray) members = NULL;
  GtkWidget *dialog, *box, *label, *copy, *list;

  if (invite == NULL)
    {
      show_error (self, _("This Notebook Cannot Be Shared"), error);
      return;
    }
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Share Notebook"),
                                   _("Give this invite code to the people you want to write with. "
                                     "Whoever has it can join the notebook: share it only with them."));
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  label = gtk_label_new (invite);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_CHAR);
  gtk_widget_add_css_class (label, "monospace");
  gtk_accessible_update_property (GTK_ACCESSIBLE (label), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Invite code"), -1);
  copy = gtk_button_new_with_mnemonic (_("_Copy Invite Code"));
  gtk_widget_set_halign (copy, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (copy, "pill");
  g_signal_connect (copy, "clicked", G_CALLBACK (copy_invite_cb), label);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), copy);

  list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  members = tandem_store_list_members (self->store, self->notebook_id, NULL);
  for (guint i = 0; members && i < members->len; i++)
    {
      TandemStoreMember *member = g_ptr_array_index (members, i);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
      g_autofree char *tooltip = g_strdup_printf (_("Remove %s from the notebook"), member->name);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), member->name);
      gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (remove, "flat");
      gtk_widget_set_tooltip_text (remove, tooltip);
      g_object_set_data_full (G_OBJECT (remove), "peer", g_memdup2 (&member->peer_id, sizeof (guint64)), g_free);
      g_signal_connect (remove, "clicked", G_CALLBACK (remove_member_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
      gtk_list_box_append (GTK_LIST_BOX (list), row);
    }
  if (members && members->len > 0)
    gtk_box_append (GTK_BOX (box), list);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
join_response_cb (AdwMessageDialog *dialog,
                  const char       *response,
                  TandemWindow     *self)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  g_autofree char *id = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_str_equal (response, "join"))
    return;
  id = tandem_peer_join (self->peer, gtk_editable_get_text (entry), &error);
  if (id == NULL)
    {
      show_error (self, _("The Invite Code Does Not Work"), error);
      return;
    }
  _tandem_window_reload_notebooks (self);
  _tandem_window_select_notebook (self, id);
  _tandem_window_show_status (self, _("Joined. The notes appear as soon as a member is reached."));
}

static void
join_action (GtkWidget  *widget,
             const char *action,
             GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);
  GtkWidget *dialog = message_dialog (self, _("Join Notebook"),
                                      _("Paste or type the invite code a member gave you."));

  add_entry (dialog, "TANDEM-…", _("Invite code"));
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "join", _("_Join"));
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "join", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "join");
  g_signal_connect (dialog, "response", G_CALLBACK (join_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
add_peer_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      TandemWindow     *self)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  const char *text = gtk_editable_get_text (entry);
  guint16 port;
  g_autofree char *host = NULL;

  if (!g_str_equal (response, "add"))
    return;
  if (!tandem_peer_parse_address (text, &host, &port))
    {
      g_autoptr(GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                             _("“%s” is not an address and a port, like 192.168.1.20:4242"), text);

      show_error (self, _("The Peer Was Not Added"), error);
      return;
    }
  tandem_peer_connect_to (self->peer, host, port);
  _tandem_window_show_status (self, _("Connecting…"));
}

static void
add_peer_action (GtkWidget  *widget,
                 const char *action,
                 GVariant   *parameter)
{
  TandemWindow *self = TANDEM_WINDOW (widget);
  GtkWidget *dialog = message_dialog (self, _("Add Peer by Address"),
                                      _("On networks where peers cannot find each other, connect to a "
                                        "member's Tandem by its address and port (shown in its Members list)."));

  add_entry (dialog, "192.168.1.20:4242", _("Address and port"));
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "add", _("_Connect"));
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "add", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "add");
  g_signal_connect (dialog, "response", G_CALLBACK (add_peer_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- conflicts ---- */

static char *
value_label (GVariant *value)
{
  if (value == NULL)
    return g_strdup (_("(removed)"));
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_strdup (g_variant_get_string (value, NULL));
  return g_variant_print (value, FALSE);
}

/* When this device got @id (wrote it, or heard of it): the time of the
 * first version of the note that holds it. */
static char *
dup_arrival (TandemWindow    *self,
             TandemSavedNote *saved,
             const TandemEventId *id)
{
  gint64 index = tandem_note_find_event (tandem_saved_note_get_note (saved), id);
  g_autoptr(GPtrArray) versions = index < 0 ? NULL
                                  : tandem_store_list_versions (self->store, tandem_saved_note_get_id (saved), NULL);

  for (guint i = 0; versions && i < versions->len; i++)
    {
      TandemStoreVersion *version = g_ptr_array_index (versions, i);

      if ((gint64) version->n_events > index)
        {
          g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (version->time / G_USEC_PER_SEC);
          g_autoptr(GDateTime) now = g_date_time_new_now_local ();

          /* Translators: a time today, and a date and time */
          return g_date_time_format (time, g_date_time_get_day_of_year (time) == g_date_time_get_day_of_year (now) &&
                                           g_date_time_get_year (time) == g_date_time_get_year (now)
                                           ? _("%H:%M") : _("%e %b %H:%M"));
        }
    }
  return NULL;
}

static char *
author_name (TandemWindow *self,
             guint64       peer)
{
  g_autoptr(TandemStoreMember) member = NULL;

  if (peer == tandem_peer_get_id (self->peer))
    return g_strdup (_("you"));
  if (self->notebook_id != NULL)
    member = tandem_store_dup_member (self->store, self->notebook_id, peer, NULL);
  return member ? g_strdup (member->name) : tandem_peer_id_to_string (peer);
}

static void
conflict_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      TandemWindow     *self)
{
  TandemSavedNote *saved = g_object_get_data (G_OBJECT (dialog), "note");
  const char *field = g_object_get_data (G_OBJECT (dialog), "field");
  GPtrArray *values = g_object_get_data (G_OBJECT (dialog), "values");
  GVariant *chosen = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemEvent) event = NULL;

  if (g_str_equal (response, "cancel") || saved != tandem_note_editor_get_note (self->editor))
    return;
  if (g_str_equal (response, "merged"))
    {
      GtkWidget *box = adw_message_dialog_get_extra_child (dialog);
      GtkEditable *entry = GTK_EDITABLE (gtk_widget_get_last_child (box));

      chosen = g_variant_new_string (gtk_editable_get_text (entry));
    }
  else
    {
      guint i = (guint) g_ascii_strtoull (response + 1, NULL, 10);

      if (i >= values->len)
        return;
      chosen = g_ptr_array_index (values, i);
      chosen = chosen ? g_variant_ref (chosen) : NULL;
    }
  /* a new write that has seen every live one settles the conflict */
  event = tandem_note_set_field (tandem_saved_note_get_note (saved), field, chosen, &error);
  if (event == NULL || !tandem_peer_commit (self->peer, saved, &error))
    show_error (self, _("The Choice Was Not Saved"), error);
}

void
_tandem_window_resolve_conflict (TandemWindow *self,
                                 const char   *field)
{
  TandemSavedNote *saved = tandem_note_editor_get_note (self->editor);
  TandemNote *note = saved ? tandem_saved_note_get_note (saved) : NULL;
  GPtrArray *live = note ? tandem_field_table_get_live (tandem_note_get_fields (note), field) : NULL;
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autofree char *heading = NULL;
  GtkWidget *dialog, *box, *entry;

  if (live == NULL || live->len < 2)
    return;
  heading = g_str_equal (field, "title") ? g_strdup (_("Choose the Title"))
                                         : g_strdup_printf (_("Choose “%s”"), field);
  dialog = message_dialog (self, heading,
                           _("It was changed on two devices at once. Pick the value to keep, or write "
                             "one that merges them. Your choice goes to every member."));
  for (guint i = 0; i < live->len; i++)
    {
      const TandemFieldWrite *write = g_ptr_array_index (live, i);
      g_autofree char *id = g_strdup_printf ("v%u", i);
      g_autofree char *value = value_label (write->value);
      g_autofree char *who = author_name (self, write->id.peer);
      g_autofree char *when = dup_arrival (self, saved, &write->id);
      /* Translators: a value in a conflict, who wrote it, and when it
       * reached this device ("“Plan” (by Ann, 14:02)") */
      g_autofree char *label = when ? g_strdup_printf (_("“%s” (by %s, %s)"), value, who, when)
                                    /* Translators: a value in a conflict and who wrote it */
                                    : g_strdup_printf (_("“%s” (by %s)"), value, who);

      g_ptr_array_add (values, write->value ? g_variant_ref (write->value) : NULL);
      adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), id, label);
    }
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_box_append (GTK_BOX (box), gtk_label_new (_("Or a merged value:")));
  entry = gtk_entry_new ();
  {
    const TandemFieldWrite *first = g_ptr_array_index (live, 0);
    g_autofree char *start = value_label (first->value);

    gtk_editable_set_text (GTK_EDITABLE (entry), start);
  }
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Merged value"), -1);
  gtk_box_append (GTK_BOX (box), entry);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "merged", _("Use _Merged Value"));
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "merged", ADW_RESPONSE_SUGGESTED);
  g_object_set_data_full (G_OBJECT (dialog), "note", g_object_ref (saved), g_object_unref);
  g_object_set_data_full (G_OBJECT (dialog), "field", g_strdup (field), g_free);
  g_object_set_data_full (G_OBJECT (dialog), "values", g_steal_pointer (&values), (GDestroyNotify) g_ptr_array_unref);
  g_signal_connect (dialog, "response", G_CALLBACK (conflict_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
_tandem_window_class_init_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.new-note", NULL, new_note_action);
  gtk_widget_class_install_action (widget_class, "win.trash-note", NULL, trash_note_action);
  gtk_widget_class_install_action (widget_class, "win.restore-note", NULL, restore_note_action);
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.new-notebook", NULL, new_notebook_action);
  gtk_widget_class_install_action (widget_class, "win.share", NULL, share_action);
  gtk_widget_class_install_action (widget_class, "win.join", NULL, join_action);
  gtk_widget_class_install_action (widget_class, "win.add-peer", NULL, add_peer_action);
  gtk_widget_class_install_action (widget_class, "win.history", NULL, history_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "win.new-note", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, GDK_CONTROL_MASK, "win.trash-note", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "win.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_y, GDK_CONTROL_MASK, "win.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.search", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.new-notebook", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_j, GDK_CONTROL_MASK, "win.join", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_h, GDK_CONTROL_MASK, "win.history", NULL);
}
