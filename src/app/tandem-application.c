/* tandem-application.c: the Tandem application
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One application owns one profile: its store and the TandemPeer over it,
 * on the network as soon as the window shows. `--profile DIR` picks
 * another profile and makes the instance independent of any other (not
 * D-Bus unique), so two windows can sync side by side on one machine.
 */
#include "tandem-application.h"

#include <glib/gi18n.h>

#include "tandem-resources.h"
#include "tandem-preferences-window.h"
#include "tandem-search-provider.h"
#include "tandem-welcome.h"
#include "tandem-window.h"

struct _TandemApplication
{
  AdwApplication parent_instance;

  char *profile;
  int port;
  gboolean no_discovery;
  char **connect;

  TandemStore *store;
  TandemPeer *peer;
  TandemSearchProvider *search_provider;
  GSettings *settings;          /* NULL when the schema is not installed */
};

G_DEFINE_FINAL_TYPE (TandemApplication, tandem_application, ADW_TYPE_APPLICATION)

static const GOptionEntry options[] = {
  { "profile", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    N_("Use the profile in DIR instead of the default one"), N_("DIR") },
  { "port", 0, 0, G_OPTION_ARG_INT, NULL, N_("Listen on PORT (default: any free port)"), N_("PORT") },
  { "no-discovery", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Do not look for peers on the network"), NULL },
  { "connect", 0, 0, G_OPTION_ARG_STRING_ARRAY, NULL, N_("Connect to the peer at HOST:PORT"),
    N_("HOST:PORT") },
  { NULL }
};

static gint
tandem_application_handle_local_options (GApplication *app,
                                         GVariantDict *dict)
{
  TandemApplication *self = TANDEM_APPLICATION (app);

  g_variant_dict_lookup (dict, "profile", "^ay", &self->profile);
  g_variant_dict_lookup (dict, "port", "i", &self->port);
  g_variant_dict_lookup (dict, "no-discovery", "b", &self->no_discovery);
  g_variant_dict_lookup (dict, "connect", "^as", &self->connect);
  if (self->port < 0 || self->port > G_MAXUINT16)
    {
      g_printerr (_("--port needs a number from 0 to 65535\n"));
      return 2;
    }
  /* each profile is its own instance */
  if (self->profile != NULL)
    g_application_set_flags (app, g_application_get_flags (app) | G_APPLICATION_NON_UNIQUE);
  return -1;
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  const char *developers[] = { "The Tandem developers", NULL };

  adw_show_about_window (gtk_application_get_active_window (app),
                         "application-name", _("Tandem"),
                         "application-icon", APP_ID,
                         "version", PACKAGE_VERSION,
                         "developer-name", _("The Tandem developers"),
                         "developers", developers,
                         "comments", _("Write notes together on your local network, with no server"),
                         "website", "https://github.com/tandemnotes/tandem",
                         "issue-url", "https://github.com/tandemnotes/tandem/issues",
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "translator-credits", _("translator-credits"),
                         NULL);
}

/* The preferences of the profile and of the notebook the window shows. */
static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  TandemApplication *self = TANDEM_APPLICATION (user_data);
  TandemWindow *window = NULL;
  TandemPreferencesWindow *preferences;

  if (self->peer == NULL)
    return;
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l && window == NULL; l = l->next)
    if (TANDEM_IS_WINDOW (l->data))
      window = l->data;
  preferences = tandem_preferences_window_new (GTK_WINDOW (window), self->peer,
                                               window ? tandem_window_get_notebook (window) : NULL);
  gtk_window_present (GTK_WINDOW (preferences));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_action },
  { "about", about_action },
  { "preferences", preferences_action },
};

static void
tandem_application_startup (GApplication *app)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *preferences_accels[] = { "<Control>comma", NULL };
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();

  G_APPLICATION_CLASS (tandem_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.preferences", preferences_accels);
  gtk_css_provider_load_from_resource (css, "/io/github/tandemnotes/Tandem/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

/* Opens the profile and goes on the network; on failure the user is told
 * why in a dialog and the app quits. */
static gboolean
open_store (TandemApplication  *self,
            GError            **error)
{
  if (self->store == NULL)
    self->store = tandem_store_open (self->profile, error);
  return self->store != NULL;
}

static gboolean
open_profile (TandemApplication  *self,
              GError            **error)
{
  g_autoptr(GError) thin_error = NULL;

  if (!open_store (self, error))
    return FALSE;
  /* versions are kept no longer than the user chose (the preferences) */
  if (!tandem_preferences_thin_history (self->store, NULL, &thin_error))
    g_warning ("Could not thin the history: %s", thin_error->message);
  self->peer = tandem_peer_new (self->store, error);
  if (self->peer == NULL)
    return FALSE;
  if (!tandem_peer_start (self->peer, (guint16) self->port, !self->no_discovery, error))
    return FALSE;
  for (guint i = 0; self->connect && self->connect[i]; i++)
    {
      g_autofree char *host = NULL;
      guint16 port;

      if (!tandem_peer_parse_address (self->connect[i], &host, &port))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("“%s” is not HOST:PORT"), self->connect[i]);
          return FALSE;
        }
      tandem_peer_connect_to (self->peer, host, port);
    }
  return TRUE;
}

static void
tandem_application_activate (GApplication *app)
{
  TandemApplication *self = TANDEM_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_autoptr(GError) error = NULL;

  if (window == NULL)
    {
      if (self->peer == NULL && !open_profile (self, &error))
        {
          GtkWidget *dialog = adw_message_dialog_new (NULL, _("Tandem Cannot Start"), error->message);

          adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
          gtk_window_set_application (GTK_WINDOW (dialog), GTK_APPLICATION (app));
          gtk_window_present (GTK_WINDOW (dialog));
          return;
        }
      {
        g_autoptr(GError) welcome_error = NULL;
        g_autofree char *welcome = tandem_welcome_add_note (self->peer, &welcome_error);

        if (welcome_error != NULL)
          g_warning ("Could not add the welcome note: %s", welcome_error->message);
        window = GTK_WINDOW (tandem_window_new (self, self->peer));
        if (welcome != NULL)
          tandem_window_show_note (TANDEM_WINDOW (window), welcome);
      }
    }
  gtk_window_present (window);
}

static TandemWindow *
ensure_window (TandemApplication *self)
{
  g_application_activate (G_APPLICATION (self));
  return TANDEM_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (self)));
}

static void
activate_note_cb (TandemSearchProvider *provider,
                  const char           *note_id,
                  TandemApplication    *self)
{
  GtkWindow *window = GTK_WINDOW (ensure_window (self));

  if (TANDEM_IS_WINDOW (window))
    tandem_window_show_note (TANDEM_WINDOW (window), note_id);
}

static void
launch_search_cb (TandemSearchProvider *provider,
                  const char           *text,
                  TandemApplication    *self)
{
  GtkWindow *window = GTK_WINDOW (ensure_window (self));

  if (TANDEM_IS_WINDOW (window))
    tandem_window_search (TANDEM_WINDOW (window), text);
}

/* On the session bus (the default profile only): GNOME Shell's search. */
static gboolean
tandem_application_dbus_register (GApplication     *app,
                                  GDBusConnection  *connection,
                                  const char       *object_path,
                                  GError          **error)
{
  TandemApplication *self = TANDEM_APPLICATION (app);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *path = g_strconcat (object_path, "/SearchProvider", NULL);

  if (!G_APPLICATION_CLASS (tandem_application_parent_class)->dbus_register (app, connection, object_path, error))
    return FALSE;
  /* without a profile the Shell just finds nothing; the app still starts
   * and says why when it shows its window */
  if (!open_store (self, &local_error))
    {
      g_message ("No search provider: %s", local_error->message);
      return TRUE;
    }
  self->search_provider = tandem_search_provider_new (self->store);
  g_signal_connect (self->search_provider, "activate-note", G_CALLBACK (activate_note_cb), self);
  g_signal_connect (self->search_provider, "launch-search", G_CALLBACK (launch_search_cb), self);
  if (!tandem_search_provider_register (self->search_provider, connection, path, &local_error))
    g_message ("No search provider: %s", local_error->message);
  return TRUE;
}

static void
tandem_application_dbus_unregister (GApplication    *app,
                                    GDBusConnection *connection,
                                    const char      *object_path)
{
  TandemApplication *self = TANDEM_APPLICATION (app);

  if (self->search_provider != NULL)
    tandem_search_provider_unregister (self->search_provider);
  G_APPLICATION_CLASS (tandem_application_parent_class)->dbus_unregister (app, connection, object_path);
}

static void
tandem_application_shutdown (GApplication *app)
{
  TandemApplication *self = TANDEM_APPLICATION (app);

  if (self->peer != NULL)
    tandem_peer_stop (self->peer);
  G_APPLICATION_CLASS (tandem_application_parent_class)->shutdown (app);
}

static void
tandem_application_finalize (GObject *object)
{
  TandemApplication *self = TANDEM_APPLICATION (object);

  g_clear_object (&self->search_provider);
  g_clear_object (&self->settings);
  g_clear_object (&self->peer);
  g_clear_object (&self->store);
  g_free (self->profile);
  g_strfreev (self->connect);
  G_OBJECT_CLASS (tandem_application_parent_class)->finalize (object);
}

static void
tandem_application_class_init (TandemApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = tandem_application_finalize;
  app_class->handle_local_options = tandem_application_handle_local_options;
  app_class->startup = tandem_application_startup;
  app_class->activate = tandem_application_activate;
  app_class->shutdown = tandem_application_shutdown;
  app_class->dbus_register = tandem_application_dbus_register;
  app_class->dbus_unregister = tandem_application_dbus_unregister;
}

static void
tandem_application_init (TandemApplication *self)
{
  /* The schema id stays the same in .Devel builds (data/meson.build).
   * Without it installed (running from a build directory without
   * GSETTINGS_SCHEMA_DIR) the app runs on defaults rather than abort. */
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = source ? g_settings_schema_source_lookup (source, "io.github.tandemnotes.Tandem",
                                                                                 TRUE) : NULL;

  if (schema != NULL)
    self->settings = g_settings_new_full (schema, NULL, NULL);

  g_application_add_main_option_entries (G_APPLICATION (self), options);
}

TandemApplication *
tandem_application_new (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      tandem_register_resource ();
      g_once_init_leave (&registered, 1);
    }
  return g_object_new (TANDEM_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/tandemnotes/Tandem",
                       NULL);
}

TandemPeer *
tandem_application_get_peer (TandemApplication *self)
{
  g_return_val_if_fail (TANDEM_IS_APPLICATION (self), NULL);
  return self->peer;
}

/**
 * tandem_application_get_settings:
 *
 * Returns: (transfer none) (nullable): the app's settings, or %NULL when
 *   its schema is not installed
 */
GSettings *
tandem_application_get_settings (TandemApplication *self)
{
  g_return_val_if_fail (TANDEM_IS_APPLICATION (self), NULL);
  return self->settings;
}
