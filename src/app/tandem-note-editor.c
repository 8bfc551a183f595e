/* tandem-note-editor.c: one note: its fields above, its text below
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The title, tags, colour and pinned are synced fields: each change here is
 * one field write, committed at once. The text goes through a
 * TandemBufferBinding. A field in "ask me" mode with concurrent values shows
 * a bar above the note; "Choose…" emits ::resolve-conflict.
 */
#include "tandem-note-editor.h"

#include <glib/gi18n.h>

#include "tandem-buffer-binding.h"

struct _TandemNoteEditor
{
  GtkWidget parent_instance;

  GtkWidget *box;
  GtkRevealer *conflict_revealer;
  GtkLabel *conflict_label;
  GtkEntry *title_entry;
  GtkDropDown *colour_dropdown;
  GtkToggleButton *pinned_button;
  GtkFlowBox *tags_box;
  GtkEntry *tag_entry;
  TandemSourceView *view;
  GtkLabel *status_label;

  TandemPeer *peer;
  TandemBufferBinding *binding;
  TandemSavedNote *saved;
  TandemNote *note;             /* watched for field changes */
  char *conflict_field;
  gboolean updating;            /* the widgets are being set from the note */
  guint status_id;
};

G_DEFINE_FINAL_TYPE (TandemNoteEditor, tandem_note_editor, GTK_TYPE_WIDGET)

enum { RESOLVE_CONFLICT, N_SIGNALS };
static guint signals[N_SIGNALS];

/* The colours a note can have: the synced value, and what the menu says. */
static const struct { const char *value; const char *label; } colours[] = {
  { NULL, N_("No colour") },
  { "red", N_("Red") },
  { "orange", N_("Orange") },
  { "yellow", N_("Yellow") },
  { "green", N_("Green") },
  { "blue", N_("Blue") },
  { "purple", N_("Purple") },
};

static void
show_error (TandemNoteEditor *self,
            const GError     *error)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                              _("The Change Was Not Saved"), error->message);

  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Saves a field write made on the note (and so sends it). */
static void
commit_field (TandemNoteEditor *self,
              TandemEvent      *event,
              GError           *error)
{
  g_autoptr(GError) commit_error = NULL;

  if (event == NULL)
    {
      show_error (self, error);
      return;
    }
  tandem_event_unref (event);
  if (!tandem_peer_commit (self->peer, self->saved, &commit_error))
    show_error (self, commit_error);
}

static char *
dup_string_field (TandemNote *note,
                  const char *field)
{
  g_autoptr(GVariant) value = tandem_note_dup_field (note, field);

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_variant_dup_string (value, NULL);
  return NULL;
}

static void
update_status (TandemNoteEditor *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->view));
  GtkTextIter start, end;
  g_autofree char *text = NULL;
  guint words = 0;
  gboolean in_word = FALSE;
  g_autofree char *label = NULL;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gboolean letter = !g_unichar_isspace (g_utf8_get_char (p));

      words += letter && !in_word;
      in_word = letter;
    }
  label = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u word", "%u words", words), words);
  gtk_label_set_label (self->status_label, label);
}

static gboolean
update_status_idle (gpointer data)
{
  TandemNoteEditor *self = data;

  self->status_id = 0;
  update_status (self);
  return G_SOURCE_REMOVE;
}

static void
buffer_changed_cb (TandemNoteEditor *self)
{
  /* counting words in a long note on every key would cost frames */
  if (self->status_id == 0)
    self->status_id = g_timeout_add (300, update_status_idle, self);
}

static void
tag_removed_cb (GtkButton        *button,
                TandemNoteEditor *self)
{
  const char *tag = g_object_get_data (G_OBJECT (button), "tag");
  g_autoptr(GError) error = NULL;

  if (self->note == NULL)
    return;
  commit_field (self, tandem_note_remove_from_set (self->note, "tags", tag, &error), error);
}

static void
show_tags (TandemNoteEditor *self)
{
  g_autoptr(GPtrArray) tags = self->note ? tandem_note_dup_set (self->note, "tags") : NULL;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->tags_box))) != NULL)
    gtk_flow_box_remove (self->tags_box, child);
  for (guint i = 0; tags && i < tags->len; i++)
    {
      const char *tag = g_ptr_array_index (tags, i);
      GtkWidget *chip = gtk_button_new ();
      GtkWidget *content = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
      g_autofree char *tooltip = g_strdup_printf (_("Remove the tag “%s”"), tag);

      gtk_box_append (GTK_BOX (content), gtk_label_new (tag));
      gtk_box_append (GTK_BOX (content), gtk_image_new_from_icon_name ("window-close-symbolic"));
      gtk_button_set_child (GTK_BUTTON (chip), content);
      gtk_widget_add_css_class (chip, "tag-chip");
      gtk_widget_set_tooltip_text (chip, tooltip);
      g_object_set_data_full (G_OBJECT (chip), "tag", g_strdup (tag), g_free);
      g_signal_connect (chip, "clicked", G_CALLBACK (tag_removed_cb), self);
      gtk_flow_box_append (self->tags_box, chip);
    }
}

static void
show_conflicts (TandemNoteEditor *self)
{
  g_autoptr(GPtrArray) names = NULL;

  g_clear_pointer (&self->conflict_field, g_free);
  if (self->note != NULL)
    {
      names = tandem_field_table_dup_names (tandem_note_get_fields (self->note));
      for (guint i = 0; i < names->len && self->conflict_field == NULL; i++)
        {
          const char *field = g_ptr_array_index (names, i);
          g_autoptr(GPtrArray) values = NULL;

          if (tandem_note_get_field_policy (self->note, field) != TANDEM_FIELD_POLICY_MANUAL)
            continue;
          values = tandem_note_dup_field_values (self->note, field);
          if (values->len > 1)
            self->conflict_field = g_strdup (field);
        }
    }
  if (self->conflict_field != NULL)
    {
      g_autofree char *text = g_str_equal (self->conflict_field, "title")
        ? g_strdup (_("The title was changed on two devices at once."))
        : g_strdup_printf (_("“%s” was changed on two devices at once."), self->conflict_field);

      gtk_label_set_label (self->conflict_label, text);
    }
  gtk_revealer_set_reveal_child (self->conflict_revealer, self->conflict_field != NULL);
}

static void
show_fields (TandemNoteEditor *self)
{
  g_autofree char *title = self->note ? dup_string_field (self->note, "title") : NULL;
  g_autofree char *colour = self->note ? dup_string_field (self->note, "colour") : NULL;
  g_autoptr(GVariant) pinned = self->note ? tandem_note_dup_field (self->note, "pinned") : NULL;
  guint colour_index = 0;

  self->updating = TRUE;
  /* a title being typed is not overwritten by the same value */
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->title_entry)), title ? title : "") != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->title_entry), title ? title : "");
  for (guint i = 1; i < G_N_ELEMENTS (colours); i++)
    if (g_strcmp0 (colours[i].value, colour) == 0)
      colour_index = i;
  gtk_drop_down_set_selected (self->colour_dropdown, colour_index);
  gtk_toggle_button_set_active (self->pinned_button,
                                pinned && g_variant_is_of_type (pinned, G_VARIANT_TYPE_BOOLEAN) &&
                                g_variant_get_boolean (pinned));
  show_tags (self);
  show_conflicts (self);
  self->updating = FALSE;
}

static void
field_changed_cb (TandemNote       *note,
                  const char       *field,
                  TandemNoteEditor *self)
{
  show_fields (self);
}

static void
title_activate_cb (TandemNoteEditor *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->title_entry));
  g_autofree char *current = NULL;
  g_autoptr(GError) error = NULL;

  if (self->note == NULL || self->updating)
    return;
  current = dup_string_field (self->note, "title");
  if (g_strcmp0 (current, text) == 0 && self->conflict_field == NULL)
    return;
  commit_field (self, tandem_note_set_field (self->note, "title", g_variant_new_string (text), &error), error);
}

static void
title_focus_leave_cb (GtkEventControllerFocus *focus,
                      TandemNoteEditor        *self)
{
  title_activate_cb (self);
}

static void
tag_activate_cb (TandemNoteEditor *self)
{
  g_autofree char *tag = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->tag_entry))));
  g_autoptr(GError) error = NULL;

  if (self->note == NULL || *tag == '\0')
    return;
  gtk_editable_set_text (GTK_EDITABLE (self->tag_entry), "");
  commit_field (self, tandem_note_add_to_set (self->note, "tags", tag, &error), error);
}

static void
pinned_toggled_cb (TandemNoteEditor *self)
{
  g_autoptr(GError) error = NULL;

  if (self->note == NULL || self->updating)
    return;
  commit_field (self, tandem_note_set_field (self->note, "pinned",
                                             g_variant_new_boolean (gtk_toggle_button_get_active (self->pinned_button)),
                                             &error), error);
}

static void
colour_selected_cb (TandemNoteEditor *self)
{
  guint i = gtk_drop_down_get_selected (self->colour_dropdown);
  g_autoptr(GError) error = NULL;

  if (self->note == NULL || self->updating || i >= G_N_ELEMENTS (colours))
    return;
  commit_field (self, tandem_note_set_field (self->note, "colour",
                                             colours[i].value ? g_variant_new_string (colours[i].value) : NULL,
                                             &error), error);
}

static void
conflict_clicked_cb (TandemNoteEditor *self)
{
  if (self->conflict_field != NULL)
    g_signal_emit (self, signals[RESOLVE_CONFLICT], 0, self->conflict_field);
}

static void
unwatch (TandemNoteEditor *self)
{
  if (self->note != NULL)
    g_signal_handlers_disconnect_by_data (self->note, self);
  g_clear_object (&self->note);
}

static void
watch (TandemNoteEditor *self)
{
  if (self->saved == NULL)
    return;
  self->note = g_object_ref (tandem_saved_note_get_note (self->saved));
  g_signal_connect (self->note, "field-changed", G_CALLBACK (field_changed_cb), self);
}

static void
note_reloaded_cb (TandemPeer       *peer,
                  const char       *note_id,
                  TandemNoteEditor *self)
{
  if (self->saved != NULL && g_str_equal (note_id, tandem_saved_note_get_id (self->saved)))
    {
      unwatch (self);
      watch (self);
      show_fields (self);
    }
}

static void
tandem_note_editor_dispose (GObject *object)
{
  TandemNoteEditor *self = TANDEM_NOTE_EDITOR (object);

  /* first, so that taking the view apart calls nothing back here */
  if (self->view != NULL)
    g_signal_handlers_disconnect_by_data (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->view)), self);
  unwatch (self);
  g_clear_handle_id (&self->status_id, g_source_remove);
  if (self->peer != NULL)
    g_signal_handlers_disconnect_by_data (self->peer, self);
  g_clear_object (&self->binding);
  g_clear_object (&self->saved);
  g_clear_object (&self->peer);
  g_clear_pointer (&self->conflict_field, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), TANDEM_TYPE_NOTE_EDITOR);
  G_OBJECT_CLASS (tandem_note_editor_parent_class)->dispose (object);
}

static void
tandem_note_editor_class_init (TandemNoteEditorClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = tandem_note_editor_dispose;

  /**
   * TandemNoteEditor::resolve-conflict:
   * @field: the field whose concurrent values the user wants to settle
   */
  signals[RESOLVE_CONFLICT] = g_signal_new ("resolve-conflict", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 1, G_TYPE_STRING);

  g_type_ensure (TANDEM_TYPE_SOURCE_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/tandemnotes/Tandem/tandem-note-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, TandemNoteEditor, box);
  gtk_widget_class_bind_template_child (widget_class, TandemNoteEditor, conflict_revealer);
  gtk_widget_class_bind_template_child (widget_class, TandemNoteEditor, conflict_label);
  gtk_widget_class_bind_template_child (widget_class, TandemNoteEditor, title_entry);
  gtk_widget_class_bind_template_child (widget_class, TandemNoteEditor, colour_dropdown);
  gtk_widget_class_bind_template_child (widget_class, TandemNoteEditor, pinned_button);
  gtk_widget_class_bind_template_child (widget_class, TandemNoteEditor, tags_box);
  gtk_widget_class_bind_template_child (widget_class, TandemNoteEditor, tag_entry);
  gtk_widget_class_bind_template_child (widget_class, TandemNoteEditor, view);
  gtk_widget_class_bind_template_child (widget_class, TandemNoteEditor, status_label);
  gtk_widget_class_bind_template_callback (widget_class, conflict_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, title_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, tag_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, pinned_toggled_cb);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "note-editor");
}

/* The text follows the light or dark style, like the rest of the app. */
static void
follow_style (TandemNoteEditor *self)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  GtkSourceStyleSchemeManager *schemes = gtk_source_style_scheme_manager_get_default ();
  GtkSourceStyleScheme *scheme =
    gtk_source_style_scheme_manager_get_scheme (schemes, adw_style_manager_get_dark (style) ? "Adwaita-dark" : "Adwaita");

  if (scheme != NULL)
    gtk_source_buffer_set_style_scheme (GTK_SOURCE_BUFFER (gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->view))),
                                        scheme);
}

static void
tandem_note_editor_init (TandemNoteEditor *self)
{
  g_autoptr(GtkStringList) colour_names = gtk_string_list_new (NULL);
  GtkEventController *focus = gtk_event_controller_focus_new ();
  GtkSourceLanguageManager *languages = gtk_source_language_manager_get_default ();
  GtkSourceLanguage *markdown = gtk_source_language_manager_get_language (languages, "markdown");
  GtkTextBuffer *buffer;

  gtk_widget_init_template (GTK_WIDGET (self));
  for (guint i = 0; i < G_N_ELEMENTS (colours); i++)
    gtk_string_list_append (colour_names, _(colours[i].label));
  gtk_drop_down_set_model (self->colour_dropdown, G_LIST_MODEL (colour_names));
  g_signal_connect_swapped (self->colour_dropdown, "notify::selected", G_CALLBACK (colour_selected_cb), self);
  g_signal_connect (focus, "leave", G_CALLBACK (title_focus_leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->title_entry), focus);

  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->view));
  if (markdown != NULL)
    gtk_source_buffer_set_language (GTK_SOURCE_BUFFER (buffer), markdown);
  g_signal_connect_swapped (buffer, "changed", G_CALLBACK (buffer_changed_cb), self);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark", G_CALLBACK (follow_style), self,
                           G_CONNECT_SWAPPED);
  follow_style (self);
  gtk_widget_set_sensitive (GTK_WIDGET (self), FALSE);
}

GtkWidget *
tandem_note_editor_new (void)
{
  return g_object_new (TANDEM_TYPE_NOTE_EDITOR, NULL);
}

/**
 * tandem_note_editor_set_peer:
 *
 * Must be called once, before any note is shown.
 */
void
tandem_note_editor_set_peer (TandemNoteEditor *self,
                             TandemPeer       *peer)
{
  g_return_if_fail (TANDEM_IS_NOTE_EDITOR (self));
  g_return_if_fail (self->peer == NULL);

  self->peer = g_object_ref (peer);
  self->binding = tandem_buffer_binding_new (peer, gtk_text_view_get_buffer (GTK_TEXT_VIEW (self->view)));
  g_signal_connect (peer, "note-reloaded", G_CALLBACK (note_reloaded_cb), self);
}

/**
 * tandem_note_editor_set_note:
 * @saved: (nullable): the note to show, or %NULL for none
 */
void
tandem_note_editor_set_note (TandemNoteEditor *self,
                             TandemSavedNote  *saved)
{
  g_return_if_fail (TANDEM_IS_NOTE_EDITOR (self));

  if (saved == self->saved)
    return;
  title_activate_cb (self);
  unwatch (self);
  g_set_object (&self->saved, saved);
  tandem_buffer_binding_set_note (self->binding, saved);
  watch (self);
  show_fields (self);
  update_status (self);
  tandem_source_view_set_remote_cursors (self->view, NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self), saved != NULL);
}

TandemSavedNote *
tandem_note_editor_get_note (TandemNoteEditor *self)
{
  g_return_val_if_fail (TANDEM_IS_NOTE_EDITOR (self), NULL);
  return self->saved;
}

TandemSourceView *
tandem_note_editor_get_view (TandemNoteEditor *self)
{
  g_return_val_if_fail (TANDEM_IS_NOTE_EDITOR (self), NULL);
  return self->view;
}

TandemBufferBinding *
tandem_note_editor_get_binding (TandemNoteEditor *self)
{
  g_return_val_if_fail (TANDEM_IS_NOTE_EDITOR (self), NULL);
  return self->binding;
}

/**
 * tandem_note_editor_flush:
 *
 * Saves what waits to be saved: the text's batch, the title being typed.
 */
void
tandem_note_editor_flush (TandemNoteEditor *self)
{
  g_return_if_fail (TANDEM_IS_NOTE_EDITOR (self));

  title_activate_cb (self);
  if (self->binding != NULL)
    tandem_buffer_binding_flush (self->binding);
}
