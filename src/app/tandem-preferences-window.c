/* tandem-preferences-window.c: the preferences: you, the notebook, history
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What belongs to the profile is kept in its store, so it goes wherever
 * the profile goes: the name and colour the other members see (sent in
 * hello), and how the notebook shown in the window reads its title when
 * two members changed it at once (tandem_peer_set_field_policy()). How
 * long unnamed versions are kept is a choice of the person at this
 * computer rather than of a profile, so it does not go in the store (see
 * history_days below).
 */
#include "tandem-preferences-window.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "tandem-application.h"

/* How long unnamed versions are kept, in days; 0 keeps them for ever: the
 * key history-keep-days of the app's settings. Without the schema (run
 * from a build directory) the choice lasts as long as the process and
 * starts at "for ever": thinning with a default the user may have changed
 * would drop versions they chose to keep, while keeping them loses nothing. */
static guint history_days = 0;

static GSettings *
app_settings (void)
{
  GApplication *app = g_application_get_default ();

  return TANDEM_IS_APPLICATION (app) ? tandem_application_get_settings (TANDEM_APPLICATION (app)) : NULL;
}

static void
set_history_days (guint days)
{
  GSettings *settings = app_settings ();

  if (settings != NULL)
    g_settings_set_uint (settings, "history-keep-days", days);
  else
    history_days = days;
}

/* The history row's choices, in its order. */
static const guint history_choices[] = { 7, 30, 90, 0 };

/* The store's palette (tandem-store.c), which reads well on light and dark
 * backgrounds, with names for the swatches. */
static const struct
{
  const char *colour;
  const char *name;
} palette[] = {
  { "#3584e4", N_("Blue") },
  { "#2190a4", N_("Teal") },
  { "#3a944a", N_("Green") },
  { "#c88800", N_("Yellow") },
  { "#ed5b00", N_("Orange") },
  { "#e62d42", N_("Red") },
  { "#d56199", N_("Pink") },
  { "#9141ac", N_("Purple") },
  { "#6f8396", N_("Slate") },
};

struct _TandemPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  /* template */
  AdwEntryRow *name_row;
  GtkBox *swatches;
  AdwPreferencesGroup *notebook_group;
  AdwComboRow *title_policy_row;
  AdwComboRow *history_row;

  TandemPeer *peer;
  TandemStore *store;
  char *notebook_id;
  gboolean loading;             /* rows are being set from the store */
};

G_DEFINE_FINAL_TYPE (TandemPreferencesWindow, tandem_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

/**
 * tandem_preferences_get_history_days:
 *
 * Returns: how many days unnamed versions are kept, 0 for ever
 */
guint
tandem_preferences_get_history_days (void)
{
  GSettings *settings = app_settings ();

  return settings != NULL ? g_settings_get_uint (settings, "history-keep-days") : history_days;
}

/**
 * tandem_preferences_thin_history:
 * @n_removed: (out) (optional): how many version marks went
 *
 * Forgets the unnamed versions older than the user keeps them (the
 * history itself stays whole: old stretches show as fewer, longer steps).
 */
gboolean
tandem_preferences_thin_history (TandemStore  *store,
                                 guint        *n_removed,
                                 GError      **error)
{
  guint days = tandem_preferences_get_history_days ();

  if (n_removed != NULL)
    *n_removed = 0;
  if (days == 0)
    return TRUE;
  return tandem_store_thin_versions (store, g_get_real_time () - (gint64) days * G_TIME_SPAN_DAY,
                                     n_removed, error);
}

static void
toast (TandemPreferencesWindow *self,
       const char              *message)
{
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (message));
}

/* ---- you ---- */

static void
name_apply_cb (TandemPreferencesWindow *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;

  /* a refused name stays in the row, with its apply button, to be fixed */
  if (!tandem_store_set_display_name (self->store, gtk_editable_get_text (GTK_EDITABLE (self->name_row)), &error))
    {
      toast (self, error->message);
      return;
    }
  /* the store drops surrounding space; show what it kept (setting the text
   * otherwise would offer to apply it again) */
  name = tandem_store_dup_display_name (self->store);
  if (!g_str_equal (name, gtk_editable_get_text (GTK_EDITABLE (self->name_row))))
    gtk_editable_set_text (GTK_EDITABLE (self->name_row), name);
}

static void
swatch_toggled_cb (GtkToggleButton         *button,
                   TandemPreferencesWindow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->loading || !gtk_toggle_button_get_active (button))
    return;
  if (!tandem_store_set_colour (self->store, g_object_get_data (G_OBJECT (button), "colour"), &error))
    toast (self, error->message);
}

static void
load_swatch_css (void)
{
  g_autoptr(GtkCssProvider) provider = gtk_css_provider_new ();
  g_autoptr(GString) css = g_string_new (".colour-swatch { min-width: 26px; min-height: 26px; padding: 0;"
                                         " border-radius: 999px; color: white; }"
                                         ".colour-swatch image { opacity: 0; }"
                                         ".colour-swatch:checked image { opacity: 1; }"
                                         ".colour-swatch:hover { filter: brightness(1.1); }"
                                         ".colour-swatch:checked { box-shadow: 0 0 0 2px @window_bg_color,"
                                         " 0 0 0 4px alpha(@window_fg_color, 0.5); }");

  for (guint i = 0; i < G_N_ELEMENTS (palette); i++)
    g_string_append_printf (css, ".colour-swatch.swatch-%u { background: %s; }", i, palette[i].colour);
  gtk_css_provider_load_from_data (provider, css->str, -1);
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static void
add_swatches (TandemPreferencesWindow *self)
{
  g_autofree char *current = tandem_store_dup_colour (self->store);
  GtkToggleButton *group = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (palette); i++)
    {
      GtkWidget *button = gtk_toggle_button_new ();
      g_autofree char *swatch_class = g_strdup_printf ("swatch-%u", i);

      gtk_button_set_child (GTK_BUTTON (button), gtk_image_new_from_icon_name ("object-select-symbolic"));
      gtk_widget_add_css_class (button, "colour-swatch");
      gtk_widget_add_css_class (button, swatch_class);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_set_tooltip_text (button, _(palette[i].name));
      gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _(palette[i].name), -1);
      g_object_set_data (G_OBJECT (button), "colour", (gpointer) palette[i].colour);
      if (group != NULL)
        gtk_toggle_button_set_group (GTK_TOGGLE_BUTTON (button), group);
      else
        group = GTK_TOGGLE_BUTTON (button);
      /* a colour from elsewhere (another Tandem, an older palette) leaves
       * none chosen */
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (button), g_ascii_strcasecmp (current, palette[i].colour) == 0);
      g_signal_connect (button, "toggled", G_CALLBACK (swatch_toggled_cb), self);
      gtk_box_append (self->swatches, button);
    }
}

/* ---- the notebook ---- */

static void
title_policy_cb (TandemPreferencesWindow *self)
{
  g_autoptr(GError) error = NULL;
  const char *policy = adw_combo_row_get_selected (self->title_policy_row) == 0 ? "manual" : "lww";

  if (self->loading || self->notebook_id == NULL)
    return;
  if (!tandem_peer_set_field_policy (self->peer, self->notebook_id, "title", policy, &error))
    toast (self, error->message);
}

static void
load_notebook (TandemPreferencesWindow *self)
{
  g_autoptr(TandemStoreNotebook) notebook = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *heading = NULL;
  const char *policy = "manual";  /* the title's, unless the notebook says otherwise (see TandemPeer) */

  /* no one else writes in the Personal notebook, so nothing conflicts there */
  if (self->notebook_id != NULL &&
      g_strcmp0 (self->notebook_id, tandem_store_get_private_notebook_id (self->store)) != 0)
    notebook = tandem_store_dup_notebook (self->store, self->notebook_id, NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->notebook_group), notebook != NULL);
  if (notebook == NULL)
    return;
  root = json_from_string (notebook->field_policies, NULL);
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    policy = json_object_get_string_member_with_default (json_node_get_object (root), "title", policy);
  adw_combo_row_set_selected (self->title_policy_row, g_str_equal (policy, "lww") ? 1 : 0);

  /* Translators: the heading of the preferences of one notebook */
  heading = g_strdup_printf (_("Notebook “%s”"), *notebook->name ? notebook->name : _("Shared notebook"));
  adw_preferences_group_set_title (self->notebook_group, heading);
}

/* ---- history ---- */

static void
history_cb (TandemPreferencesWindow *self)
{
  g_autoptr(GError) error = NULL;
  guint selected = adw_combo_row_get_selected (self->history_row);
  guint n = 0;

  if (self->loading || selected >= G_N_ELEMENTS (history_choices))
    return;
  set_history_days (history_choices[selected]);
  if (!tandem_preferences_thin_history (self->store, &n, &error))
    toast (self, error->message);
  else if (n > 0)
    {
      /* Translators: after the history was thinned */
      g_autofree char *message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u old version merged",
                                                               "%u old versions merged", n), n);

      toast (self, message);
    }
}

/* ---- the object ---- */

static void
tandem_preferences_window_finalize (GObject *object)
{
  TandemPreferencesWindow *self = TANDEM_PREFERENCES_WINDOW (object);

  g_clear_object (&self->peer);
  g_clear_object (&self->store);
  g_free (self->notebook_id);
  G_OBJECT_CLASS (tandem_preferences_window_parent_class)->finalize (object);
}

static void
tandem_preferences_window_class_init (TandemPreferencesWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = tandem_preferences_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tandemnotes/Tandem/tandem-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, name_row);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, swatches);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, notebook_group);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, title_policy_row);
  gtk_widget_class_bind_template_child (widget_class, TandemPreferencesWindow, history_row);
  gtk_widget_class_bind_template_callback (widget_class, name_apply_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
  load_swatch_css ();
}

static void
tandem_preferences_window_init (TandemPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * tandem_preferences_window_new:
 * @parent: the window it belongs to
 * @notebook_id: (nullable): the notebook the window shows, whose own
 *   preferences are offered too
 *
 * Returns: (transfer none): the preferences, to present
 */
TandemPreferencesWindow *
tandem_preferences_window_new (GtkWindow  *parent,
                               TandemPeer *peer,
                               const char *notebook_id)
{
  TandemPreferencesWindow *self = g_object_new (TANDEM_TYPE_PREFERENCES_WINDOW, "transient-for", parent, NULL);
  g_autofree char *name = NULL;

  self->peer = g_object_ref (peer);
  self->store = g_object_ref (tandem_peer_get_store (peer));
  self->notebook_id = g_strdup (notebook_id);

  self->loading = TRUE;
  name = tandem_store_dup_display_name (self->store);
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), name);
  add_swatches (self);
  load_notebook (self);
  for (guint i = 0; i < G_N_ELEMENTS (history_choices); i++)
    if (history_choices[i] == tandem_preferences_get_history_days ())
      adw_combo_row_set_selected (self->history_row, i);
  self->loading = FALSE;

  g_signal_connect_swapped (self->title_policy_row, "notify::selected", G_CALLBACK (title_policy_cb), self);
  g_signal_connect_swapped (self->history_row, "notify::selected", G_CALLBACK (history_cb), self);
  return self;
}
