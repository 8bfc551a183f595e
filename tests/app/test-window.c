/* test-window.c: the app's window, driven like a user, over real peers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every window here is a real TandemWindow over a real TandemPeer over a
 * real TandemStore in a temporary folder; peers talk over real TLS
 * WebSockets on loopback (port 0, no discovery), and the third test talks
 * to a real `tandem-peer run` process over its stdin and stdout. The test
 * drives the widgets as a user does: actions, typing into the buffer
 * inside user actions (as GtkTextView does for each key), entries set and
 * activated, dialogs answered, rows selected. It iterates the main
 * context until what it waits for holds, with deadlines that fail it.
 *
 * Each test runs in a subprocess of its own: a critical warning is fatal
 * there, and one failing test does not take the others down. What does
 * not stop the rest of a scenario from meaning something (a header not
 * updated, a tag drawn over text) fails the test but lets it go on, with
 * "FAILED" and the reason on stderr.
 *
 * /window/notes                  a note with a title, tags and text; search
 *                                by each; pinned first; trash and restore
 * /window/search/not-field-names the search does not match the names of
 *                                the fields kept beside a note
 * /window/close-with-note-open   nothing runs on a window once closed
 * /window/shared/invite-type-conflict
 *                                two windows, two peers: a notebook made,
 *                                shared and joined through the dialogs;
 *                                typing at once; the other's caret drawn;
 *                                a title changed on both, resolved on one
 * /window/shared/...             remote carets follow text and typing; a
 *                                member leaving; idle once joined; an
 *                                input method's composition kept while the
 *                                other types
 * /window/process                a window and `tandem-peer run` converge
 * /window/undo-after-remote/...  undo takes away only one's own typing
 *
 * Remote carets are checked where they are drawn: the other member's
 * colour is looked for in a rendering of the view.
 *
 * Screenshots of every main screen are rendered from the widgets
 * (gtk_widget_paintable_new) to G_TEST_BUILDDIR/screenshots.
 */
#include <execinfo.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "tandem-application.h"
#include "tandem-note-row.h"
#include "tandem-window-private.h"
#include "test-input-method.h"
#include "tandem-test-files.h"

/* how long anything may take to happen */
#define DEADLINE_MS 15000

/* Bob's colour: drawn nowhere else, so his caret can be found by it */
#define BOB_COLOUR "#00b050"

static TandemApplication *app;

/* ---- messages ---------------------------------------------------------- */

static void say (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* g_test_message(), which a test in a subprocess does not show: there, to
 * stderr, which the parent passes on. */
static void
say (const char *format,
     ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (g_test_subprocess ())
    g_printerr ("# %s\n", message);
  else
    g_test_message ("%s", message);
}

/* Fails the test but goes on: for what does not stop the rest of the
 * scenario from meaning something. */
#define SOFT_CMPSTR(a, b, why)                                                   \
  G_STMT_START                                                                   \
  {                                                                              \
    const char *soft_a_ = (a), *soft_b_ = (b);                                   \
    if (g_strcmp0 (soft_a_, soft_b_) != 0)                                       \
      {                                                                          \
        say ("FAILED at line %d: %s: \"%s\" is not \"%s\"", __LINE__, (why),    \
             soft_a_, soft_b_);                                                  \
        g_test_fail_printf ("%s: \"%s\" is not \"%s\"", (why), soft_a_, soft_b_); \
      }                                                                          \
  }                                                                              \
  G_STMT_END

/* ---- the main loop ----------------------------------------------------- */

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates for @ms whatever happens. */
static void
spin (guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, TRUE);
}

/* Iterates until @cond holds; fails the test with @what if it still does
 * not after DEADLINE_MS. A 10 ms tick (installed by test_begin) keeps an
 * iteration from blocking longer. */
#define WAIT_UNTIL(cond, what)                                                     \
  G_STMT_START                                                                     \
  {                                                                                \
    gint64 wait_deadline_ = g_get_monotonic_time () + (gint64) DEADLINE_MS * 1000; \
    while (!(cond))                                                                \
      {                                                                            \
        if (g_get_monotonic_time () > wait_deadline_)                              \
          {                                                                        \
            g_autofree char *msg_ = g_strdup_printf ("timed out after %d ms waiting for %s", \
                                                     DEADLINE_MS, (what));         \
            g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg_); \
          }                                                                        \
        g_main_context_iteration (NULL, TRUE);                                     \
      }                                                                            \
  }                                                                                \
  G_STMT_END

/* Waits up to @ms for @cond; if it does not come, fails the test but
 * goes on. */
#define SOFT_WAIT_UNTIL(cond, ms, what)                                            \
  G_STMT_START                                                                     \
  {                                                                                \
    gint64 soft_deadline_ = g_get_monotonic_time () + (gint64) (ms) * 1000;        \
    while (!(cond) && g_get_monotonic_time () < soft_deadline_)                    \
      g_main_context_iteration (NULL, TRUE);                                       \
    if (!(cond))                                                                   \
      {                                                                            \
        say ("FAILED at line %d: %s did not happen in %d ms", __LINE__, (what), (ms)); \
        g_test_fail_printf ("%s did not happen in %d ms", (what), (ms));            \
      }                                                                            \
  }                                                                                \
  G_STMT_END

static guint tick_id;

/* Every test starts here: the application, registered (not run), and the
 * tick. */
static void
test_begin (void)
{
  g_autoptr(GError) error = NULL;

  app = tandem_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  tick_id = g_timeout_add (10, wake_up, NULL);
}

static void
test_end (void)
{
  spin (100);
  g_clear_handle_id (&tick_id, g_source_remove);
  g_clear_object (&app);
}

/* ---- screenshots ------------------------------------------------------- */

static GdkTexture *
render (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);
  /* a widget other than a window is drawn over what its window paints
   * below it: Adwaita's window background */
  if (!GTK_IS_WINDOW (widget))
    gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 0.98, 0.98, 0.98, 1 },
                               &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

/* Lets @widget lay out and draw a frame or two. */
static void
settle (GtkWidget *widget)
{
  GdkFrameClock *clock;
  gint64 frame;

  WAIT_UNTIL (gtk_widget_get_mapped (widget), "the widget to be mapped");
  clock = gtk_widget_get_frame_clock (widget);
  /* a frame asked for is one frame: two, one after the other */
  for (int i = 0; i < 2; i++)
    {
      frame = gdk_frame_clock_get_frame_counter (clock);
      gtk_widget_queue_draw (widget);
      WAIT_UNTIL (gdk_frame_clock_get_frame_counter (clock) > frame, "a frame to be drawn");
    }
}

static void
screenshot (GtkWidget  *widget,
            const char *name)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_BUILT, "screenshots", NULL);
  g_autofree char *file = g_strdup_printf ("%s.png", name);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autoptr(GdkTexture) texture = NULL;

  settle (widget);
  texture = render (widget);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  say ("screenshot: %s", path);
}

/* ---- widgets ----------------------------------------------------------- */

static GtkWidget *
find_descendant (GtkWidget *widget,
                 gboolean (*match) (GtkWidget *widget, gconstpointer data),
                 gconstpointer data)
{
  if (match (widget, data))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_descendant (child, match, data);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
is_button_labelled (GtkWidget    *widget,
                    gconstpointer label)
{
  return GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0;
}

static gboolean
is_label_with_class (GtkWidget    *widget,
                     gconstpointer css_class)
{
  return GTK_IS_LABEL (widget) && gtk_widget_has_css_class (widget, css_class);
}

static gboolean
is_row_of (GtkWidget    *widget,
           gconstpointer note_id)
{
  TandemNoteItem *item = TANDEM_IS_NOTE_ROW (widget) ? tandem_note_row_get_item (TANDEM_NOTE_ROW (widget)) : NULL;

  return item != NULL && g_str_equal (tandem_note_item_get_id (item), note_id);
}

static gboolean
is_label_text (GtkWidget    *widget,
               gconstpointer text)
{
  return GTK_IS_LABEL (widget) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (widget)), text) == 0;
}

static GtkWidget *
editor_child (TandemWindow *win,
              const char   *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (win->editor), TANDEM_TYPE_NOTE_EDITOR, name);

  g_assert_nonnull (child);
  return GTK_WIDGET (child);
}

static TandemSourceView *
view_of (TandemWindow *win)
{
  return tandem_note_editor_get_view (win->editor);
}

static GtkTextBuffer *
buffer_of (TandemWindow *win)
{
  return gtk_text_view_get_buffer (GTK_TEXT_VIEW (view_of (win)));
}

static char *
buffer_text (TandemWindow *win)
{
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer_of (win), &start, &end);
  return gtk_text_buffer_get_text (buffer_of (win), &start, &end, TRUE);
}

static TandemNote *
open_note (TandemWindow *win)
{
  TandemSavedNote *saved = tandem_note_editor_get_note (win->editor);

  return saved ? tandem_saved_note_get_note (saved) : NULL;
}

static const char *
open_note_id (TandemWindow *win)
{
  TandemSavedNote *saved = tandem_note_editor_get_note (win->editor);

  return saved ? tandem_saved_note_get_id (saved) : NULL;
}

static char *
note_text (TandemWindow *win)
{
  return open_note (win) ? tandem_note_dup_text (open_note (win)) : NULL;
}

static char *
note_title (TandemWindow *win)
{
  g_autoptr(GVariant) title = open_note (win) ? tandem_note_dup_field (open_note (win), "title") : NULL;

  return title && g_variant_is_of_type (title, G_VARIANT_TYPE_STRING) ? g_variant_dup_string (title, NULL) : NULL;
}

static gboolean
buffer_is (TandemWindow *win,
           const char   *expected)
{
  g_autofree char *text = buffer_text (win);

  return g_strcmp0 (text, expected) == 0;
}

/* Both the buffer and the note hold @expected. */
static gboolean
shows (TandemWindow *win,
       const char   *expected)
{
  g_autofree char *text = note_text (win);

  return buffer_is (win, expected) && g_strcmp0 (text, expected) == 0;
}

/* Waits until both the buffer and the note of @win hold @expected; says
 * what they hold if they do not. */
#define WAIT_SHOWS(win, expected, what)                                            \
  G_STMT_START                                                                     \
  {                                                                                \
    gint64 shows_deadline_ = g_get_monotonic_time () + (gint64) DEADLINE_MS * 1000; \
    while (!shows ((win), (expected)) && g_get_monotonic_time () < shows_deadline_) \
      g_main_context_iteration (NULL, TRUE);                                       \
    if (!shows ((win), (expected)))                                                \
      {                                                                            \
        g_autofree char *b_ = buffer_text (win);                                   \
        g_autofree char *n_ = note_text (win);                                     \
        g_autofree char *msg_ = g_strdup_printf ("timed out waiting for %s: the buffer has \"%s\", " \
                                                 "the note \"%s\", not \"%s\"",     \
                                                 (what), b_, n_, (expected));      \
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg_);  \
      }                                                                            \
  }                                                                                \
  G_STMT_END

/* Types @text at @offset (-1: where the cursor is; -2: at the end) one
 * character at a time, each in a user action of its own, as GtkTextView
 * does for a key; the main loop runs a little between keys. */
static void
type_at (TandemWindow *win,
         int           offset,
         const char   *text)
{
  GtkTextBuffer *buffer = buffer_of (win);

  if (offset >= 0 || offset == -2)
    {
      GtkTextIter iter;

      if (offset == -2)
        gtk_text_buffer_get_end_iter (buffer, &iter);
      else
        gtk_text_buffer_get_iter_at_offset (buffer, &iter, offset);
      gtk_text_buffer_place_cursor (buffer, &iter);
    }
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gtk_text_buffer_begin_user_action (buffer);
      g_assert_true (gtk_text_buffer_insert_interactive_at_cursor (buffer, p, g_utf8_next_char (p) - p, TRUE));
      gtk_text_buffer_end_user_action (buffer);
      spin (5);
    }
}

/* The same text in one user action (a paste). */
static void
paste_at (TandemWindow *win,
          int           offset,
          const char   *text)
{
  GtkTextBuffer *buffer = buffer_of (win);
  GtkTextIter iter;

  gtk_text_buffer_get_iter_at_offset (buffer, &iter, offset);
  gtk_text_buffer_place_cursor (buffer, &iter);
  gtk_text_buffer_begin_user_action (buffer);
  g_assert_true (gtk_text_buffer_insert_interactive_at_cursor (buffer, text, -1, TRUE));
  gtk_text_buffer_end_user_action (buffer);
}

static void
activate_action (TandemWindow *win,
                 const char   *action)
{
  if (!gtk_widget_activate_action (GTK_WIDGET (win), action, NULL))
    {
      g_autofree char *msg = g_strdup_printf ("the action %s could not be activated", action);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
}

/* Sets an entry's text and presses Enter in it (Enter is the inner
 * GtkText's "activate" action signal, which the entry passes on). */
static void
enter_text (GtkWidget  *entry,
            const char *text)
{
  GtkEditable *delegate = gtk_editable_get_delegate (GTK_EDITABLE (entry));

  gtk_editable_set_text (GTK_EDITABLE (entry), text);
  g_assert_true (GTK_IS_TEXT (delegate));
  /* what its Enter key binding does */
  g_signal_emit_by_name (delegate, "activate");
}

/* ---- the note list ---- */

static guint
n_rows (TandemWindow *win)
{
  return g_list_model_get_n_items (G_LIST_MODEL (win->notes_selection));
}

/* The row widget that shows @note_id (the list view makes rows only for
 * the notes in sight: all of them, in these tests). */
static TandemNoteRow *
find_row (TandemWindow *win,
          const char   *note_id)
{
  GtkWidget *row = find_descendant (GTK_WIDGET (win->notes_view), is_row_of, (gpointer) note_id);

  return row ? TANDEM_NOTE_ROW (row) : NULL;
}

/* The id of the note listed at @index, in the list's sorted order. */
static const char *
row_id_at (TandemWindow *win,
           guint         index)
{
  g_autoptr(TandemNoteItem) item = g_list_model_get_item (G_LIST_MODEL (win->notes_selection), index);

  /* the model keeps the item, so its id outlives this reference */
  return item ? tandem_note_item_get_id (item) : NULL;
}

/* What the row shows as its title. */
static const char *
row_title (TandemNoteRow *row)
{
  GtkWidget *label = find_descendant (GTK_WIDGET (row), is_label_with_class, "heading");

  g_assert_nonnull (label);
  return gtk_label_get_label (GTK_LABEL (label));
}

/* What the row shows below its title. */
static const char *
row_snippet (TandemNoteRow *row)
{
  GtkWidget *label = find_descendant (GTK_WIDGET (row), is_label_with_class, "dim-label");

  g_assert_nonnull (label);
  return gtk_label_get_label (GTK_LABEL (label));
}

/* Only these notes are listed (any order). */
static gboolean
lists_only (TandemWindow *win,
            const char   *id1,
            const char   *id2)
{
  guint expected = (id1 != NULL) + (id2 != NULL);

  return n_rows (win) == expected && (id1 == NULL || find_row (win, id1)) && (id2 == NULL || find_row (win, id2));
}

static void
select_row (TandemWindow *win,
            const char   *note_id)
{
  TandemNoteRow *row = find_row (win, note_id);

  g_assert_nonnull (row);
  _tandem_window_select_row (win, note_id);
  g_assert_cmpstr (open_note_id (win), ==, note_id);
}

/* win.new-note; returns the id of the note it opened. */
static char *
new_note (TandemWindow *win)
{
  g_autofree char *previous = g_strdup (open_note_id (win));

  activate_action (win, "win.new-note");
  g_assert_nonnull (open_note_id (win));
  g_assert_cmpstr (open_note_id (win), !=, previous);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (win->content_stack), ==, "editor");
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (win->editor)));
  g_assert_true (buffer_is (win, ""));
  return g_strdup (open_note_id (win));
}

static void
search (TandemWindow *win,
        const char   *text)
{
  gtk_editable_set_text (GTK_EDITABLE (win->search_entry), text);
  /* the entry says "search-changed" after its delay */
  WAIT_UNTIL (g_strcmp0 (win->search ? win->search : "", text) == 0, "the search to be taken");
}

/* ---- dialogs ---- */

/* The one message dialog over @win. */
static AdwMessageDialog *
dialog_of (TandemWindow *win)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  AdwMessageDialog *found = NULL;

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_window_get_transient_for (window) == GTK_WINDOW (win) &&
          gtk_widget_get_visible (GTK_WIDGET (window)))
        {
          g_assert_null (found);
          found = ADW_MESSAGE_DIALOG (window);
        }
    }
  return found;
}

/* Toggles @button as Space on it does (its "clicked" follows its
 * activation's short press animation). */
static void
toggle (GtkWidget *button)
{
  gboolean was = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (button));

  g_assert_true (gtk_widget_activate (button));
  WAIT_UNTIL (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (button)) != was, "the button to toggle");
}

/* Screenshots of the dialogs that make and join a notebook, in the one
 * test that wants them. */
static gboolean shoot_dialogs;

/* A message dialog, once its appearing animation (from nothing) is over. */
static void
screenshot_dialog (AdwMessageDialog *dialog,
                   const char       *name)
{
  if (!shoot_dialogs)
    return;
  spin (600);
  screenshot (GTK_WIDGET (dialog), name);
}

static void
click_button (GtkWidget  *widget,
              const char *label)
{
  GtkWidget *button = find_descendant (widget, is_button_labelled, label);

  g_assert_nonnull (button);
  gtk_widget_activate (button);
}

/* ---- profiles ---------------------------------------------------------- */

typedef struct
{
  char *dir;
  TandemStore *store;
  TandemPeer *peer;
  TandemWindow *win;
} Profile;

static Profile *
profile_new (const char *name,
             const char *colour)
{
  Profile *self = g_new0 (Profile, 1);
  g_autoptr(GError) error = NULL;

  self->dir = g_dir_make_tmp ("tandem-window-XXXXXX", &error);
  g_assert_no_error (error);
  self->store = tandem_store_open (self->dir, &error);
  g_assert_no_error (error);
  g_assert_true (tandem_store_set_display_name (self->store, name, &error));
  g_assert_true (tandem_store_set_colour (self->store, colour, &error));
  self->peer = tandem_peer_new (self->store, &error);
  g_assert_no_error (error);
  g_assert_true (tandem_peer_start (self->peer, 0, FALSE, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tandem_peer_get_port (self->peer), >, 0);

  self->win = tandem_window_new (app, self->peer);
  g_assert_true (TANDEM_IS_WINDOW (self->win));
  gtk_window_present (GTK_WINDOW (self->win));
  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (self->win)), "the window to show");
  /* a new profile shows its personal notebook, empty */
  g_assert_cmpstr (tandem_window_get_notebook (self->win), ==, tandem_store_get_private_notebook_id (self->store));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (self->win->list_stack), ==, "empty");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (self->win->content_stack), ==, "none");
  return self;
}

static void
profile_close_window (Profile *self)
{
  if (self->win != NULL)
    {
      tandem_note_editor_flush (self->win->editor);
      /* The window's handlers on the editor's buffer and on the note list
       * outlive its template: closing it with a note open runs them on a
       * window being disposed (criticals, then timers on freed memory).
       * That has a test of its own, /window/close-with-note-open; here they
       * are kept out of the way so that every other test reports only its
       * own findings. */
      gtk_selection_model_unselect_all (GTK_SELECTION_MODEL (self->win->notes_selection));
      g_signal_handlers_disconnect_by_data (buffer_of (self->win), self->win);
      gtk_window_destroy (GTK_WINDOW (self->win));
      self->win = NULL;
    }
}

static void
profile_free (Profile *self)
{
  profile_close_window (self);
  tandem_peer_stop (self->peer);
  spin (50);
  g_clear_object (&self->peer);
  g_clear_object (&self->store);
  tandem_test_rm_rf (self->dir);
  g_free (self->dir);
  g_free (self);
}

static guint
n_open_sessions (TandemPeer *peer)
{
  GPtrArray *sessions = tandem_peer_get_sessions (peer);
  guint n = 0;

  for (guint i = 0; i < sessions->len; i++)
    n += tandem_sync_session_is_open (g_ptr_array_index (sessions, i));
  return n;
}

/* The notebook's name in @store, or NULL while it has none. */
static char *
notebook_name (TandemStore *store,
               const char  *notebook_id)
{
  g_autoptr(TandemStoreNotebook) notebook = tandem_store_dup_notebook (store, notebook_id, NULL);

  return notebook && *notebook->name ? g_strdup (notebook->name) : NULL;
}

/* The notebook dropdown's label for the notebook shown. */
static const char *
notebook_label (TandemWindow *win)
{
  GListModel *model = gtk_drop_down_get_model (win->notebook_dropdown);
  guint i = gtk_drop_down_get_selected (win->notebook_dropdown);

  return model && i < g_list_model_get_n_items (model)
         ? gtk_string_list_get_string (GTK_STRING_LIST (model), i) : NULL;
}

/* win.new-notebook, named in its dialog. */
static char *
ui_new_notebook (TandemWindow *win,
                 const char   *name)
{
  AdwMessageDialog *dialog;
  g_autofree char *before = g_strdup (tandem_window_get_notebook (win));

  activate_action (win, "win.new-notebook");
  dialog = dialog_of (win);
  g_assert_nonnull (dialog);
  gtk_editable_set_text (GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog)), name);
  screenshot_dialog (dialog, "dialog-new-notebook");
  enter_text (adw_message_dialog_get_extra_child (dialog), name);
  /* Enter in the entry answers the default response, which closes it */
  WAIT_UNTIL (dialog_of (win) == NULL, "the New Notebook dialog to close");
  g_assert_cmpstr (tandem_window_get_notebook (win), !=, before);
  return g_strdup (tandem_window_get_notebook (win));
}

/* The invite code, as the Share dialog shows it. */
static char *
ui_invite (TandemWindow *win)
{
  AdwMessageDialog *dialog;
  GtkWidget *label;
  char *invite;

  activate_action (win, "win.share");
  dialog = dialog_of (win);
  g_assert_nonnull (dialog);
  label = find_descendant (GTK_WIDGET (dialog), is_label_with_class, "monospace");
  g_assert_nonnull (label);
  invite = g_strdup (gtk_label_get_label (GTK_LABEL (label)));
  g_assert_true (g_str_has_prefix (invite, "TANDEM-"));
  screenshot_dialog (dialog, "dialog-share");
  click_button (GTK_WIDGET (dialog), "_Close");
  WAIT_UNTIL (dialog_of (win) == NULL, "the Share dialog to close");
  return invite;
}

/* win.join, the invite typed in its dialog. */
static char *
ui_join (TandemWindow *win,
         const char   *invite)
{
  AdwMessageDialog *dialog;

  activate_action (win, "win.join");
  dialog = dialog_of (win);
  g_assert_nonnull (dialog);
  gtk_editable_set_text (GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog)), invite);
  screenshot_dialog (dialog, "dialog-join");
  enter_text (adw_message_dialog_get_extra_child (dialog), invite);
  WAIT_UNTIL (dialog_of (win) == NULL, "the Join dialog to close");
  return g_strdup (tandem_window_get_notebook (win));
}

/* Two people, Ann and Bob, in a shared notebook made and joined through
 * the dialogs, both in one note that Ann made and typed @text in (or
 * pasted it, with @paste).
 *
 * The invite names two of Ann's addresses (the LAN one and loopback);
 * here both reach her, so Bob's two links end as one ("duplicate
 * connection"), and which one goes depends on which peer id is smaller.
 * So that a test does the same from run to run, Bob's id is made the
 * larger one, unless @bob_smaller: then Bob keeps his newer link and drops
 * the older one, whose redial once spun at 0 ms (test_idle_after_join). */
typedef struct
{
  Profile *ann;
  Profile *bob;
  char *notebook;
  char *note;
} Pair;

static Pair *
pair_new (const char *text,
          gboolean    paste,
          gboolean    bob_smaller)
{
  Pair *self = g_new0 (Pair, 1);
  g_autofree char *invite = NULL;
  g_autofree char *joined = NULL;

  self->ann = profile_new ("Ann", "#3584e4");
  self->bob = profile_new ("Bob", BOB_COLOUR);
  while ((tandem_peer_get_id (self->bob->peer) < tandem_peer_get_id (self->ann->peer)) != bob_smaller)
    {
      profile_free (self->bob);
      self->bob = profile_new ("Bob", BOB_COLOUR);
    }

  self->notebook = ui_new_notebook (self->ann->win, "Team notes");
  g_assert_cmpstr (self->notebook, !=, tandem_store_get_private_notebook_id (self->ann->store));
  g_assert_cmpstr (notebook_label (self->ann->win), ==, "Team notes (1 member)");
  invite = ui_invite (self->ann->win);

  joined = ui_join (self->bob->win, invite);
  g_assert_cmpstr (joined, ==, self->notebook);
  g_assert_true (gtk_revealer_get_reveal_child (self->bob->win->status_revealer));
  WAIT_UNTIL (n_open_sessions (self->ann->peer) > 0 && n_open_sessions (self->bob->peer) > 0,
              "Ann and Bob to connect");
  WAIT_UNTIL (g_strcmp0 (notebook_label (self->ann->win), "Team notes (2 members)") == 0,
              "Ann's notebook list to count Bob");

  self->note = new_note (self->ann->win);
  if (paste)
    paste_at (self->ann->win, 0, text);
  else
    type_at (self->ann->win, 0, text);
  g_assert_true (shows (self->ann->win, text));
  WAIT_UNTIL (find_row (self->bob->win, self->note) != NULL, "Ann's note to reach Bob's list");
  select_row (self->bob->win, self->note);
  WAIT_SHOWS (self->bob->win, text, "Bob's editor to show Ann's text");
  return self;
}

static void
pair_free (Pair *self)
{
  /* the windows first: a member leaving reaches a window through a
   * handler that takes the reason for the window (test_member_leaves) */
  profile_close_window (self->ann);
  profile_close_window (self->bob);
  profile_free (self->bob);
  profile_free (self->ann);
  g_free (self->notebook);
  g_free (self->note);
  g_free (self);
}

/* ---- remote carets, found by their colour ------------------------------ */

/* Where @colour is drawn in @view: the leftmost column and the lowest row
 * (a caret and its name tag both start at the caret's x - 1; the caret is
 * the lowest), and the lowest row of the name tag (the rows wider than the
 * 2 pixels of the caret). */
static gboolean
find_colour (GtkWidget  *view,
             const char *colour,
             int        *left,
             int        *bottom,
             int        *tag_bottom)
{
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree guchar *pixels = NULL;
  GdkRGBA rgba;
  int width, height, want[3];
  gboolean found = FALSE;

  g_assert_true (gdk_rgba_parse (&rgba, colour));
  want[0] = (int) (rgba.red * 255 + 0.5);
  want[1] = (int) (rgba.green * 255 + 0.5);
  want[2] = (int) (rgba.blue * 255 + 0.5);
  settle (view);
  texture = render (view);
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  pixels = g_malloc ((gsize) width * height * 4);
  /* GDK_MEMORY_DEFAULT: B, G, R, A, premultiplied */
  gdk_texture_download (texture, pixels, (gsize) width * 4);
  *left = G_MAXINT;
  *bottom = -1;
  *tag_bottom = -1;
  for (int y = 0; y < height; y++)
    {
      int in_row = 0;

      for (int x = 0; x < width; x++)
        {
          const guchar *p = pixels + ((gsize) y * width + x) * 4;

          if (ABS (p[2] - want[0]) <= 3 && ABS (p[1] - want[1]) <= 3 && ABS (p[0] - want[2]) <= 3 && p[3] == 255)
            {
              *left = MIN (*left, x);
              *bottom = MAX (*bottom, y);
              in_row++;
              found = TRUE;
            }
        }
      if (in_row > 4)
        *tag_bottom = y;
    }
  return found;
}

/* Where a caret is drawn, and where it should be: its left column and
 * its lowest row. */
typedef struct
{
  int drawn_x, drawn_bottom;
  int want_x, want_bottom;
} Caret;

/* Whether a caret in @colour is drawn in @view before the character at
 * @offset (with its name tag above it). */
static gboolean
caret_is_at (TandemSourceView *view,
             const char       *colour,
             int               offset,
             Caret            *caret)
{
  GtkTextView *text_view = GTK_TEXT_VIEW (view);
  GtkTextIter iter;
  GdkRectangle rect;
  int x, y, tag_bottom;

  if (!find_colour (GTK_WIDGET (view), colour, &caret->drawn_x, &caret->drawn_bottom, &tag_bottom))
    caret->drawn_x = caret->drawn_bottom = -1;
  gtk_text_buffer_get_iter_at_offset (gtk_text_view_get_buffer (text_view), &iter, offset);
  gtk_text_view_get_iter_location (text_view, &iter, &rect);
  gtk_text_view_buffer_to_window_coords (text_view, GTK_TEXT_WINDOW_WIDGET, rect.x, rect.y, &x, &y);
  /* drawn from x - 1, 2 pixels wide, the line's height */
  caret->want_x = x - 1;
  caret->want_bottom = y + rect.height - 1;
  return caret->drawn_x >= 0 && ABS (caret->drawn_x - caret->want_x) <= 2 &&
         ABS (caret->drawn_bottom - caret->want_bottom) <= 2;
}

/* The name tag by a caret at @offset in @view is drawn above the caret's
 * line, not over its text. */
static void
check_tag_clear_of_text (TandemSourceView *view,
                         const char       *colour,
                         int               offset)
{
  GtkTextView *text_view = GTK_TEXT_VIEW (view);
  GtkTextIter iter;
  GdkRectangle rect;
  int x, y, left, bottom, tag_bottom;

  g_assert_true (find_colour (GTK_WIDGET (view), colour, &left, &bottom, &tag_bottom));
  gtk_text_buffer_get_iter_at_offset (gtk_text_view_get_buffer (text_view), &iter, offset);
  gtk_text_view_get_iter_location (text_view, &iter, &rect);
  gtk_text_view_buffer_to_window_coords (text_view, GTK_TEXT_WINDOW_WIDGET, rect.x, rect.y, &x, &y);
  if (tag_bottom > y)
    {
      say ("FAILED: the name tag by the caret at offset %d reaches down to y %d, over its line's text "
           "(from y %d to %d)", offset, tag_bottom, y, y + rect.height);
      g_test_fail_printf ("the name tag covers the text of the caret's line (%d rows of it)", tag_bottom - y + 1);
    }
}

/* A caret in @colour is (or comes to be, within a deadline) drawn in
 * @view before the character at @offset. */
static void
assert_caret_at (TandemSourceView *view,
                 const char       *colour,
                 int               offset)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  Caret caret;

  while (!caret_is_at (view, colour, offset, &caret) && g_get_monotonic_time () < deadline)
    spin (50);
  say ("caret drawn at x %d, bottom %d; before character %d it would be at x %d, bottom %d",
       caret.drawn_x, caret.drawn_bottom, offset, caret.want_x, caret.want_bottom);
  if (!caret_is_at (view, colour, offset, &caret))
    {
      g_autofree char *msg = g_strdup_printf ("the remote caret is drawn at (%d, bottom %d), not before "
                                              "character %d at (%d, bottom %d)", caret.drawn_x,
                                              caret.drawn_bottom, offset, caret.want_x, caret.want_bottom);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
}

/* ---- a `tandem-peer run` process --------------------------------------- */

typedef struct
{
  char *dir;
  GSubprocess *process;
  GOutputStream *in;
  GDataInputStream *out;
  GCancellable *cancellable;
  GQueue lines;          /* JsonObject, replies and events not yet taken */
  gboolean eof;
  gboolean waited;
  gint64 next_id;
} Process;

static void read_next (Process *self);

static void
line_read_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Process *self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                                     NULL, &error);
  g_autoptr(JsonNode) node = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (line == NULL)
    {
      self->eof = TRUE;
      return;
    }
  node = json_from_string (line, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  g_queue_push_tail (&self->lines, json_object_ref (json_node_get_object (node)));
  read_next (self);
}

static void
read_next (Process *self)
{
  g_data_input_stream_read_line_async (self->out, G_PRIORITY_DEFAULT, self->cancellable, line_read_cb, self);
}

/* Takes the first line that has @member equal to @value (a string or an
 * integer id), waiting for it. */
static JsonObject *
process_take (Process    *self,
              const char *member,
              const char *value,
              gint64      id)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) DEADLINE_MS * 1000;

  for (;;)
    {
      for (GList *l = self->lines.head; l; l = l->next)
        {
          JsonObject *line = l->data;
          JsonNode *node = json_object_get_member (line, member);

          if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
            continue;
          if (value ? g_strcmp0 (json_node_get_string (node), value) == 0 : json_node_get_int (node) == id)
            {
              g_queue_delete_link (&self->lines, l);
              return line;
            }
        }
      if (self->eof || g_get_monotonic_time () > deadline)
        {
          g_autofree char *msg = g_strdup_printf ("tandem-peer run %s without saying %s=%s",
                                                  self->eof ? "ended" : "waited too long",
                                                  member, value ? value : "(an id)");

          g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
        }
      g_main_context_iteration (NULL, TRUE);
    }
}

static Process *
process_new (const char *name)
{
  Process *self = g_new0 (Process, 1);
  const char *exe = g_getenv ("TANDEM_PEER");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) ready = NULL;

  g_assert_nonnull (exe);
  self->dir = g_dir_make_tmp ("tandem-window-run-XXXXXX", &error);
  g_assert_no_error (error);
  self->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                    exe, "run", "--profile", self->dir, "--name", name, "--no-discovery", NULL);
  g_assert_no_error (error);
  self->in = g_subprocess_get_stdin_pipe (self->process);
  self->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->lines);
  read_next (self);
  ready = process_take (self, "event", "ready", 0);
  g_assert_cmpint (json_object_get_int_member (ready, "port"), >, 0);
  return self;
}

/* Sends @command (a GVariant a{sv}, consumed) and returns the reply, which
 * must be "ok". */
static JsonObject *
process_call (Process  *self,
              GVariant *command)
{
  g_autoptr(JsonNode) node = json_gvariant_serialize (command);
  g_autofree char *line = NULL;
  g_autoptr(GError) error = NULL;
  gint64 id = ++self->next_id;
  JsonObject *reply;

  json_object_set_int_member (json_node_get_object (node), "id", id);
  line = json_to_string (node, FALSE);
  g_assert_true (g_output_stream_write_all (self->in, line, strlen (line), NULL, NULL, &error));
  g_assert_true (g_output_stream_write_all (self->in, "\n", 1, NULL, NULL, &error));
  g_assert_true (g_output_stream_flush (self->in, NULL, &error));
  g_assert_no_error (error);
  reply = process_take (self, "id", NULL, id);
  if (!json_object_get_boolean_member_with_default (reply, "ok", FALSE))
    {
      g_autofree char *msg = g_strdup_printf ("tandem-peer run refused %s: %s", line,
                                              json_object_get_string_member_with_default (reply, "error",
                                                                                          "(no reason)"));

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
  return reply;
}

static void
process_quit (Process *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) reply G_GNUC_UNUSED = process_call (self, g_variant_new_parsed ("{'cmd': <'quit'>}"));

  WAIT_UNTIL (self->eof, "tandem-peer run to quit");
  g_assert_true (g_subprocess_wait (self->process, NULL, &error));
  self->waited = TRUE;
  g_assert_true (g_subprocess_get_if_exited (self->process));
  g_assert_cmpint (g_subprocess_get_exit_status (self->process), ==, 0);
}

static void
process_free (Process *self)
{
  if (!self->waited)
    {
      g_subprocess_force_exit (self->process);
      g_subprocess_wait (self->process, NULL, NULL);
    }
  g_cancellable_cancel (self->cancellable);
  spin (20);
  g_queue_clear_full (&self->lines, (GDestroyNotify) json_object_unref);
  g_clear_object (&self->out);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->process);
  tandem_test_rm_rf (self->dir);
  g_free (self->dir);
  g_free (self);
}

/* The text of @note at the process, or NULL if it does not have it. */
static char *
process_text (Process    *self,
              const char *notebook,
              const char *note)
{
  g_autoptr(JsonObject) notes = process_call (self, g_variant_new_parsed ("{'cmd': <'notes'>, 'notebook': <%s>}",
                                                                          notebook));
  JsonArray *list = json_object_get_array_member (notes, "notes");
  g_autoptr(JsonObject) dump = NULL;
  gboolean has = FALSE;

  for (guint i = 0; i < json_array_get_length (list); i++)
    has |= g_strcmp0 (json_object_get_string_member (json_array_get_object_element (list, i), "note"), note) == 0;
  if (!has)
    return NULL;
  dump = process_call (self, g_variant_new_parsed ("{'cmd': <'dump'>, 'note': <%s>}", note));
  return g_strdup (json_object_get_string_member (dump, "text"));
}

static gboolean
process_shows (Process    *self,
               const char *notebook,
               const char *note,
               const char *expected)
{
  g_autofree char *text = process_text (self, notebook, note);

  if (g_strcmp0 (text, expected) == 0)
    return TRUE;
  spin (100);
  return FALSE;
}

/* ---- 1: notes, search, pin, trash -------------------------------------- */

static void
make_note (TandemWindow *win,
           const char   *title,
           const char   *tag,
           const char   *text,
           char        **id)
{
  *id = new_note (win);
  enter_text (editor_child (win, "title_entry"), title);
  if (tag != NULL)
    enter_text (editor_child (win, "tag_entry"), tag);
  type_at (win, 0, text);
  g_assert_true (shows (win, text));
}

static void
test_notes (gconstpointer data)
{
  Profile *ann = profile_new ("Ann", "#3584e4");
  TandemWindow *win = ann->win;
  g_autofree char *shopping = NULL, *meeting = NULL, *recipe = NULL;
  g_autoptr(GPtrArray) tags = NULL;
  g_autofree char *title = NULL;
  g_autoptr(GVariant) trashed = NULL;

  screenshot (GTK_WIDGET (win), "notes-empty");

  /* a note: a title, tags, text */
  shopping = new_note (win);
  enter_text (editor_child (win, "title_entry"), "Shopping list");
  enter_text (editor_child (win, "tag_entry"), "errands");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (editor_child (win, "tag_entry"))), ==, "");
  enter_text (editor_child (win, "tag_entry"), "home");
  type_at (win, 0, "Eggs, milk and bread.\nAsk about the cheese.");
  g_assert_true (shows (win, "Eggs, milk and bread.\nAsk about the cheese."));
  title = note_title (win);
  g_assert_cmpstr (title, ==, "Shopping list");
  tags = tandem_note_dup_set (open_note (win), "tags");
  g_assert_cmpuint (tags->len, ==, 2);
  g_assert_true (g_ptr_array_find_with_equal_func (tags, "errands", g_str_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (tags, "home", g_str_equal, NULL));
  SOFT_CMPSTR (adw_window_title_get_title (win->window_title), "Shopping list",
               "the header shows the title just given to the open note");
  /* the tags show as chips */
  g_assert_nonnull (find_descendant (editor_child (win, "tags_box"), is_label_text, "errands"));
  g_assert_nonnull (find_descendant (editor_child (win, "tags_box"), is_label_text, "home"));
  WAIT_UNTIL (find_row (win, shopping) && g_strcmp0 (row_title (find_row (win, shopping)), "Shopping list") == 0,
              "the row to show the title");
  /* the list shows the start of the text on one line: a line break there
   * is a space, not a glyph */
  if (strchr (row_snippet (find_row (win, shopping)), '\n') != NULL)
    {
      say ("FAILED: the row's one-line snippet holds the text's line break (drawn as a ↵ glyph)");
      g_test_fail_printf ("the row's one-line snippet holds a line break");
    }
  /* two short tags sit side by side, with room to spare */
  settle (GTK_WIDGET (win));
  {
    GtkWidget *errands = find_descendant (editor_child (win, "tags_box"), is_label_text, "errands");
    GtkWidget *home = find_descendant (editor_child (win, "tags_box"), is_label_text, "home");
    graphene_point_t a, b;

    g_assert_true (gtk_widget_compute_point (errands, GTK_WIDGET (win), &GRAPHENE_POINT_INIT (0, 0), &a));
    g_assert_true (gtk_widget_compute_point (home, GTK_WIDGET (win), &GRAPHENE_POINT_INIT (0, 0), &b));
    if (ABS (a.y - b.y) > 1)
      {
        say ("FAILED: the two tags are one above the other (y %.0f and %.0f), in an editor %d pixels wide",
             a.y, b.y, gtk_widget_get_width (GTK_WIDGET (win->editor)));
        g_test_fail_printf ("the tags are stacked one per line");
      }
  }

  make_note (win, "Meeting notes", "work", "Agenda: the budget review.", &meeting);
  make_note (win, "Pancakes", NULL, "Flour, eggs, a pinch of salt.", &recipe);
  WAIT_UNTIL (n_rows (win) == 3 && g_strcmp0 (row_id_at (win, 0), recipe) == 0,
              "three notes, the newest first");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (win->list_stack), ==, "list");

  /* search: by title, by tag, by a word of the text, and not a missing word */
  search (win, "shopping");
  g_assert_true (lists_only (win, shopping, NULL));
  search (win, "ERRANDS");
  g_assert_true (lists_only (win, shopping, NULL));
  search (win, "cheese");
  g_assert_true (lists_only (win, shopping, NULL));
  search (win, "eggs");
  g_assert_true (lists_only (win, shopping, recipe));
  screenshot (GTK_WIDGET (win), "notes-search");
  search (win, "budget");
  g_assert_true (lists_only (win, meeting, NULL));
  search (win, "zebra");
  g_assert_true (lists_only (win, NULL, NULL));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (win->list_stack), ==, "empty");
  g_assert_cmpstr (adw_status_page_get_title (win->empty_page), ==, "No Results");
  screenshot (GTK_WIDGET (win), "notes-search-none");
  search (win, "");
  g_assert_true (n_rows (win) == 3);

  /* pinned goes first, even above a note changed later */
  select_row (win, shopping);
  g_assert_true (buffer_is (win, "Eggs, milk and bread.\nAsk about the cheese."));
  toggle (editor_child (win, "pinned_button"));
  {
    g_autoptr(GVariant) pinned = tandem_note_dup_field (open_note (win), "pinned");

    g_assert_nonnull (pinned);
    g_assert_true (g_variant_get_boolean (pinned));
  }
  select_row (win, meeting);
  type_at (win, -1, "Minutes: ");
  g_assert_true (shows (win, "Minutes: Agenda: the budget review."));
  WAIT_UNTIL (g_strcmp0 (row_id_at (win, 0), shopping) == 0 && g_strcmp0 (row_id_at (win, 1), meeting) == 0 &&
              g_strcmp0 (row_id_at (win, 2), recipe) == 0,
              "the pinned note first, then the note just changed, then the other");
  WAIT_UNTIL (g_strcmp0 (row_snippet (find_row (win, meeting)), "Minutes: Agenda: the budget review.") == 0,
              "the row to show the text as it is now");
  select_row (win, shopping);
  screenshot (GTK_WIDGET (win), "notes-main");
  screenshot (GTK_WIDGET (win->editor), "notes-editor");

  /* trash: it leaves the list, the trash shows it */
  activate_action (win, "win.trash-note");
  g_assert_null (open_note_id (win));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (win->content_stack), ==, "none");
  g_assert_true (lists_only (win, meeting, recipe));
  toggle (GTK_WIDGET (win->trash_button));
  g_assert_true (lists_only (win, shopping, NULL));
  select_row (win, shopping);
  trashed = tandem_note_dup_field (open_note (win), "trashed");
  g_assert_nonnull (trashed);
  /* trashing it again is off: nothing happens */
  gtk_widget_activate_action (GTK_WIDGET (win), "win.trash-note", NULL);
  g_assert_cmpstr (open_note_id (win), ==, shopping);
  screenshot (GTK_WIDGET (win), "notes-trash");

  /* restore: it leaves the trash, and is back in the list, still pinned */
  activate_action (win, "win.restore-note");
  g_assert_true (lists_only (win, NULL, NULL));
  g_assert_cmpstr (adw_status_page_get_title (win->empty_page), ==, "The Trash Is Empty");
  toggle (GTK_WIDGET (win->trash_button));
  g_assert_true (n_rows (win) == 3);
  g_assert_cmpstr (row_id_at (win, 0), ==, shopping);
  select_row (win, shopping);
  {
    g_autoptr(GVariant) still = tandem_note_dup_field (open_note (win), "trashed");

    g_assert_null (still);
  }
  g_assert_true (buffer_is (win, "Eggs, milk and bread.\nAsk about the cheese."));

  profile_free (ann);
}

/* The search looks in the fields' values, not in their names: "title" or
 * "pinned" are in no note here. */
static void
test_search_field_names (gconstpointer data)
{
  Profile *ann = profile_new ("Ann", "#3584e4");
  TandemWindow *win = ann->win;
  g_autofree char *id = NULL;

  make_note (win, "Groceries", "errands", "Apples.", &id);
  toggle (editor_child (win, "pinned_button"));
  WAIT_UNTIL (n_rows (win) == 1, "the note to be listed");
  search (win, "apples");
  g_assert_true (lists_only (win, id, NULL));
  for (guint i = 0; i < 4; i++)
    {
      static const char *words[] = { "title", "pinned", "tags", "true" };

      search (win, words[i]);
      if (n_rows (win) != 0)
        {
          g_autofree char *name = g_strdup_printf ("search-field-names-%s", words[i]);

          screenshot (GTK_WIDGET (win), name);
          say ("FAILED: searching \"%s\" lists the note, whose title, tags and text do not have it", words[i]);
          g_test_fail_printf ("searching \"%s\" lists a note that does not have it", words[i]);
        }
    }
  profile_free (ann);
}

/* Closing a window with a note open: nothing runs on the window after. */
static void
test_close_with_note_open (gconstpointer data)
{
  Profile *ann = profile_new ("Ann", "#3584e4");
  g_autofree char *id = new_note (ann->win);

  type_at (ann->win, 0, "Written just before closing.");
  {
    /* GTK owns a window: closing destroys it; hold it to watch that */
    g_autoptr(TandemWindow) keep = g_object_ref (ann->win);

    gtk_window_close (GTK_WINDOW (ann->win));
    WAIT_UNTIL (!gtk_widget_get_visible (GTK_WIDGET (keep)), "the window to close");
    ann->win = NULL;
  }
  /* the presence (100 ms) and list (250 ms) timers would fire by now */
  spin (500);
  {
    g_autofree char *text = tandem_store_load_note_text (ann->store, id, NULL);

    g_assert_cmpstr (text, ==, "Written just before closing.");
  }
  profile_free (ann);
}

/* ---- 2: two windows, one note ------------------------------------------ */

static gboolean
conflict_shown (TandemWindow *win)
{
  GtkRevealer *revealer = GTK_REVEALER (editor_child (win, "conflict_revealer"));

  return gtk_revealer_get_reveal_child (revealer) && gtk_revealer_get_child_revealed (revealer);
}

static gboolean
conflict_hidden (TandemWindow *win)
{
  GtkRevealer *revealer = GTK_REVEALER (editor_child (win, "conflict_revealer"));

  return !gtk_revealer_get_reveal_child (revealer) && !gtk_revealer_get_child_revealed (revealer);
}

static void
test_shared (gconstpointer data)
{
  Pair *pair;
  const char *expected = "Bob: Hello from Ann. Ann again.";
  g_autofree char *ann_title = NULL, *bob_title = NULL;
  AdwMessageDialog *dialog;
  TandemWindow *ann, *bob;

  shoot_dialogs = TRUE;
  pair = pair_new ("Hello from Ann.", FALSE, FALSE);
  shoot_dialogs = FALSE;
  ann = pair->ann->win;
  bob = pair->bob->win;

  /* the notebook's name reaches Bob's store from Ann once they are
   * connected, and his notebook list shows it */
  WAIT_UNTIL (notebook_name (pair->bob->store, pair->notebook) != NULL, "Bob's store to learn the notebook's name");
  {
    g_autofree char *name = notebook_name (pair->bob->store, pair->notebook);

    g_assert_cmpstr (name, ==, "Team notes");
  }
  SOFT_WAIT_UNTIL (g_strcmp0 (notebook_label (bob), "Team notes (2 members)") == 0, 1000,
                   "Bob's notebook list to show the name his store learned");
  /* "Joined. The notes appear as soon as a member is reached.": they have */
  SOFT_WAIT_UNTIL (!gtk_revealer_get_reveal_child (bob->status_revealer), 1000,
                   "Bob's \"Joined\" notice to go once the notes are there");
  screenshot (GTK_WIDGET (bob), "shared-bob-joined");

  /* both type at once, at either end */
  {
    const char *a = " Ann again.", *b = "Bob: ";
    GtkTextIter end;

    gtk_text_buffer_get_end_iter (buffer_of (ann), &end);
    gtk_text_buffer_place_cursor (buffer_of (ann), &end);
    gtk_text_buffer_get_start_iter (buffer_of (bob), &end);
    gtk_text_buffer_place_cursor (buffer_of (bob), &end);
    while (*a || *b)
      {
        if (*a)
          {
            char key[2] = { *a++, 0 };

            type_at (ann, -1, key);
          }
        if (*b)
          {
            char key[2] = { *b++, 0 };

            type_at (bob, -1, key);
          }
      }
  }
  WAIT_SHOWS (ann, expected, "Ann to show the text both typed");
  WAIT_SHOWS (bob, expected, "Bob to show the text both typed");

  /* Bob's caret, with his name, in Ann's view */
  {
    GtkTextIter iter;

    gtk_text_buffer_get_iter_at_offset (buffer_of (bob), &iter, 11);
    gtk_text_buffer_place_cursor (buffer_of (bob), &iter);
  }
  WAIT_UNTIL (tandem_source_view_get_n_remote_cursors (view_of (ann)) > 0, "Bob's caret to reach Ann's view");
  g_assert_cmpuint (tandem_source_view_get_n_remote_cursors (view_of (ann)), ==, 1);
  assert_caret_at (view_of (ann), BOB_COLOUR, 11);
  check_tag_clear_of_text (view_of (ann), BOB_COLOUR, 11);
  screenshot (GTK_WIDGET (ann), "shared-remote-caret");
  screenshot (GTK_WIDGET (view_of (ann)), "shared-remote-caret-view");

  /* the same title changed on both before either hears of the other's */
  enter_text (editor_child (ann, "title_entry"), "Ann's title");
  enter_text (editor_child (bob, "title_entry"), "Bob's title");
  WAIT_UNTIL (conflict_shown (ann) && conflict_shown (bob), "the conflict bar on both");
  g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (editor_child (ann, "conflict_label"))), ==,
                   "The title was changed on two devices at once.");
  screenshot (GTK_WIDGET (ann), "shared-conflict-ann");
  screenshot (GTK_WIDGET (bob), "shared-conflict-bob");

  /* settled on Ann's side ("Choose…" in the bar), with the first value */
  click_button (GTK_WIDGET (ann->editor), "_Choose…");
  WAIT_UNTIL ((dialog = dialog_of (ann)) != NULL, "the dialog to choose the title");
  g_assert_true (adw_message_dialog_has_response (dialog, "v0"));
  g_assert_true (adw_message_dialog_has_response (dialog, "v1"));
  g_assert_false (adw_message_dialog_has_response (dialog, "v2"));
  shoot_dialogs = TRUE;
  screenshot_dialog (dialog, "shared-conflict-dialog");
  shoot_dialogs = FALSE;
  {
    const char *v0 = adw_message_dialog_get_response_label (dialog, "v0");
    const char *chosen = strstr (v0, "Ann's title") ? "Ann's title" : "Bob's title";

    say ("choosing %s", v0);
    g_assert_true (strstr (v0, "Ann's title") || strstr (v0, "Bob's title"));
    g_object_ref (dialog);
    g_signal_emit_by_name (dialog, "response", "v0");
    /* as its button would, without the close response a close-request gives */
    if (gtk_widget_get_visible (GTK_WIDGET (dialog)))
      gtk_window_destroy (GTK_WINDOW (dialog));
    g_object_unref (dialog);
    WAIT_UNTIL (conflict_hidden (ann) && conflict_hidden (bob), "the conflict bar to go on both");
    ann_title = note_title (ann);
    bob_title = note_title (bob);
    g_assert_cmpstr (ann_title, ==, chosen);
    WAIT_UNTIL (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (editor_child (bob, "title_entry"))), chosen) == 0,
                "Bob's title entry to show the choice");
    g_assert_cmpstr (bob_title, ==, chosen);
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (editor_child (ann, "title_entry"))), ==, chosen);
    WAIT_UNTIL (g_strcmp0 (adw_window_title_get_title (bob->window_title), chosen) == 0,
                "Bob's window title to follow");
    SOFT_CMPSTR (adw_window_title_get_title (ann->window_title), chosen,
                 "Ann's header shows the title she chose");
  }
  g_assert_true (shows (ann, expected) && shows (bob, expected));
  screenshot (GTK_WIDGET (ann), "shared-resolved-ann");
  screenshot (GTK_WIDGET (bob), "shared-resolved-bob");
  pair_free (pair);
}

/* Bob leaves (his app quits): Ann's window says so, and his caret goes. */
static void
test_member_leaves (gconstpointer data)
{
  Pair *pair = pair_new ("See you.", FALSE, FALSE);
  TandemWindow *ann = pair->ann->win;

  WAIT_UNTIL (tandem_source_view_get_n_remote_cursors (view_of (ann)) == 1, "Bob's caret in Ann's view");
  profile_close_window (pair->bob);
  tandem_peer_stop (pair->bob->peer);
  WAIT_UNTIL (n_open_sessions (pair->ann->peer) == 0, "Ann to see Bob leave");
  WAIT_UNTIL (tandem_source_view_get_n_remote_cursors (view_of (ann)) == 0, "Bob's caret to go from Ann's view");
  /* the members popover: Bob, offline */
  WAIT_UNTIL (find_descendant (GTK_WIDGET (ann->peers_list), is_label_text, "offline") != NULL,
              "Ann's members list to show Bob offline");
  g_assert_true (shows (ann, "See you."));
  screenshot (GTK_WIDGET (ann), "member-left-ann");
  pair_free (pair);
}

/* Bob's caret in Ann's view follows what Bob types: typing moves his
 * cursor (the text goes in before it) without any "mark-set". */
static void
test_remote_caret_follows_typing (gconstpointer data)
{
  Pair *pair = pair_new ("Line one.\nLine two.", FALSE, FALSE);
  TandemWindow *ann = pair->ann->win, *bob = pair->bob->win;
  GtkTextIter iter;

  /* Bob clicks at the end: his caret shows there in Ann's view */
  gtk_text_buffer_get_end_iter (buffer_of (bob), &iter);
  gtk_text_buffer_place_cursor (buffer_of (bob), &iter);
  assert_caret_at (view_of (ann), BOB_COLOUR, 19);
  /* and types: it follows */
  type_at (bob, -1, " And three.");
  WAIT_SHOWS (ann, "Line one.\nLine two. And three.", "Bob's typing to reach Ann");
  spin (500);
  screenshot (GTK_WIDGET (view_of (ann)), "caret-after-bob-typed");
  assert_caret_at (view_of (ann), BOB_COLOUR, 30);
  pair_free (pair);
}

/* Iterations of the main loop in @ms: with nothing to do, about one per
 * 10 ms tick and timer. */
static guint
count_iterations (guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;
  guint n = 0;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, TRUE);
      n++;
    }
  return n;
}

/* Once Bob has joined, with nothing happening, the main loop is idle and
 * the windows redraw. Bob has the smaller peer id: he keeps his newer link
 * to Ann and drops the older one, whose target is then redialled at once
 * (its attempts were reset when it connected), finds Ann connected, and is
 * scheduled again with no delay, over and over. */
static void
test_idle_after_join (gconstpointer data)
{
  Pair *pair = pair_new ("Anyone there?", FALSE, TRUE);
  guint n;

  spin (1000);
  n = count_iterations (500);
  say ("%u main loop iterations in 500 ms, connected and idle", n);
  if (n > 1000)
    {
      g_autofree char *msg = g_strdup_printf ("the main loop is busy while connected and idle: %u iterations in "
                                              "500 ms (a 0 ms timer spins, GTK's redraw starves)", n);

      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
  screenshot (GTK_WIDGET (pair->bob->win), "idle-after-join-bob");
  pair_free (pair);
}

/* Bob's caret in Ann's view stays before the same character when Ann
 * types before it. */
static void
test_remote_caret_follows_text (gconstpointer data)
{
  Pair *pair = pair_new ("one two three", FALSE, FALSE);
  TandemWindow *ann = pair->ann->win, *bob = pair->bob->win;
  GtkTextIter iter;

  /* Bob's caret before "three" */
  gtk_text_buffer_get_iter_at_offset (buffer_of (bob), &iter, 8);
  gtk_text_buffer_place_cursor (buffer_of (bob), &iter);
  WAIT_UNTIL (tandem_source_view_get_n_remote_cursors (view_of (ann)) > 0, "Bob's caret to reach Ann's view");
  spin (300);
  assert_caret_at (view_of (ann), BOB_COLOUR, 8);

  /* Ann types at the start; Bob's caret is still before "three" */
  type_at (ann, 0, "zero ");
  WAIT_SHOWS (ann, "zero one two three", "Ann's text");
  WAIT_SHOWS (bob, "zero one two three", "Bob to converge");
  spin (300);
  screenshot (GTK_WIDGET (view_of (ann)), "caret-after-ann-typed");
  assert_caret_at (view_of (ann), BOB_COLOUR, 13);
  pair_free (pair);
}

/* What the view last showed as the text being composed. */
static void
preedit_shown_cb (GtkTextView *view,
                  const char  *preedit,
                  char       **shown)
{
  g_free (*shown);
  *shown = g_strdup (preedit);
}

/* What a key controller does when the input method took a key: the view
 * then knows that a composition may be under way, and resets the input
 * method when that would be right (the caret moved, say). */
static void
compose (GtkTextView     *view,
         TestInputMethod *im,
         const char      *preedit)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (view));
  gboolean told = FALSE;

  test_input_method_compose (im, preedit);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_KEY (controller))
        {
          g_signal_emit_by_name (controller, "im-update");
          told = TRUE;
        }
    }
  g_assert_true (told);
}

/* Ann composes a word with an input method while Bob edits before and
 * after her caret: her composition stays as it is (GTK never resets the
 * input method, which would drop it), and what she commits lands where her
 * caret went with Bob's edits. */
static void
test_input_method_composition (gconstpointer data)
{
  Pair *pair = pair_new ("one two three", FALSE, FALSE);
  TandemWindow *ann = pair->ann->win, *bob = pair->bob->win;
  GtkTextView *view = GTK_TEXT_VIEW (view_of (ann));
  TestInputMethod *im;
  g_autofree char *shown = NULL;
  GtkTextIter iter;

  g_signal_connect (view, "preedit-changed", G_CALLBACK (preedit_shown_cb), &shown);
  g_object_set (view, "im-module", TEST_INPUT_METHOD_ID, NULL);
  gtk_widget_grab_focus (GTK_WIDGET (view));
  spin (50);
  /* the view made it when it took the focus */
  im = test_input_method_get_last ();
  g_assert_nonnull (im);

  gtk_text_buffer_get_iter_at_offset (buffer_of (ann), &iter, 8);
  gtk_text_buffer_place_cursor (buffer_of (ann), &iter);
  spin (50);
  test_input_method_forget_resets (im);
  compose (view, im, "TH");
  g_assert_cmpstr (shown, ==, "TH");

  type_at (bob, 0, "zero ");
  type_at (bob, -2, "!");
  paste_at (bob, 4, " and");
  WAIT_SHOWS (ann, "zero and one two three!", "Bob's edits to reach Ann while she composes");
  spin (300);
  screenshot (GTK_WIDGET (view), "composing-ann");
  g_assert_cmpuint (test_input_method_get_resets (im), ==, 0);
  g_assert_cmpstr (shown, ==, "TH");

  compose (view, im, "THREE, ");
  test_input_method_commit (im, "THREE, ");
  g_assert_cmpstr (shown, ==, "");
  WAIT_SHOWS (ann, "zero and one two THREE, three!", "Ann's word at her caret");
  WAIT_SHOWS (bob, "zero and one two THREE, three!", "Ann's word to reach Bob");

  /* and the count above could have seen it: moving the caret while
   * composing resets the input method */
  compose (view, im, "x");
  gtk_text_buffer_get_start_iter (buffer_of (ann), &iter);
  gtk_text_buffer_place_cursor (buffer_of (ann), &iter);
  g_assert_cmpuint (test_input_method_get_resets (im), >, 0);
  g_assert_cmpstr (shown, ==, "");
  pair_free (pair);
}

/* ---- 3: a window and a tandem-peer process ----------------------------- */

static void
test_process (gconstpointer data)
{
  Profile *ann = profile_new ("Ann", "#3584e4");
  TandemWindow *win = ann->win;
  Process *pat = process_new ("Pat");
  g_autofree char *notebook = NULL, *invite = NULL, *note = NULL;
  const char *expected = "Pat was here. Hello from Ann. More from Ann.";

  notebook = ui_new_notebook (win, "With Pat");
  invite = ui_invite (win);
  {
    g_autoptr(JsonObject) joined = process_call (pat, g_variant_new_parsed ("{'cmd': <'join'>, 'invite': <%s>}",
                                                                            invite));

    g_assert_cmpstr (json_object_get_string_member (joined, "notebook"), ==, notebook);
  }
  WAIT_UNTIL (n_open_sessions (ann->peer) > 0, "Pat to connect to Ann");
  WAIT_UNTIL (g_strcmp0 (notebook_label (win), "With Pat (2 members)") == 0, "Ann's window to count Pat");

  note = new_note (win);
  enter_text (editor_child (win, "title_entry"), "Plans");
  type_at (win, 0, "Hello from Ann.");
  WAIT_UNTIL (process_shows (pat, notebook, note, "Hello from Ann."), "Pat to have Ann's note");

  /* both type: Pat at the start, Ann at the end */
  {
    g_autoptr(JsonObject) reply G_GNUC_UNUSED = process_call (pat, g_variant_new_parsed (
      "{'cmd': <'insert'>, 'note': <%s>, 'pos': <0>, 'text': <'Pat was here. '>}", note));
  }
  type_at (win, -2, " More from Ann.");
  WAIT_SHOWS (win, expected, "Ann's window to show both texts");
  WAIT_UNTIL (process_shows (pat, notebook, note, expected), "Pat to show both texts");
  {
    g_autoptr(JsonObject) synced G_GNUC_UNUSED = process_call (pat, g_variant_new_parsed ("{'cmd': <'wait-synced'>, 'timeout': <10>}"));
    g_autoptr(JsonObject) dump = process_call (pat, g_variant_new_parsed ("{'cmd': <'dump'>, 'note': <%s>}", note));
    JsonObject *fields = json_object_get_object_member (dump, "fields");

    g_assert_cmpstr (json_object_get_string_member (dump, "text"), ==, expected);
    g_assert_cmpstr (json_object_get_string_member (fields, "title"), ==, "Plans");
  }

  SOFT_WAIT_UNTIL (g_strcmp0 (row_snippet (find_row (win, note)), expected) == 0, 3000,
                   "the note's row to show its text as it is now");

  /* Pat's caret in Ann's view */
  {
    g_autoptr(JsonObject) reply G_GNUC_UNUSED = process_call (pat, g_variant_new_parsed (
      "{'cmd': <'presence'>, 'state': <'online'>, 'note': <%s>, 'pos': <int64 14>, 'anchor': <int64 14>}", note));
  }
  WAIT_UNTIL (tandem_source_view_get_n_remote_cursors (view_of (win)) > 0, "Pat's caret to reach Ann's view");
  screenshot (GTK_WIDGET (win), "process-window");

  /* the window goes before Pat: a member leaving is test_member_leaves */
  profile_close_window (ann);
  process_quit (pat);
  WAIT_UNTIL (n_open_sessions (ann->peer) == 0, "Ann's peer to see Pat leave");
  process_free (pat);
  profile_free (ann);
}

/* ---- 4: undo after a remote edit --------------------------------------- */

/* Ann types "hello " key by key (or pastes it); Bob's "world" arrives;
 * Ann's undo takes away what she typed, and only that. */
static void
test_undo_after_remote (gconstpointer data)
{
  gboolean one_action = GPOINTER_TO_INT (data);
  Pair *pair = pair_new ("hello ", one_action, FALSE);
  TandemWindow *ann = pair->ann->win, *bob = pair->bob->win;

  type_at (bob, 6, "world");
  WAIT_SHOWS (ann, "hello world", "Bob's word to reach Ann");
  g_assert_true (shows (bob, "hello world"));

  activate_action (ann, "win.undo");
  if (!buffer_is (ann, "world"))
    screenshot (GTK_WIDGET (ann), one_action ? "undo-paste-ann" : "undo-typing-ann");
  {
    g_autofree char *text = buffer_text (ann);

    g_assert_cmpstr (text, ==, "world");
  }
  g_assert_true (shows (ann, "world"));
  WAIT_SHOWS (bob, "world", "Bob to converge to Ann's undo");
  SOFT_WAIT_UNTIL (g_strcmp0 (row_snippet (find_row (ann, pair->note)), "world") == 0, 3000,
                   "Ann's row to show the note's text as it is now");
  SOFT_WAIT_UNTIL (g_strcmp0 (row_snippet (find_row (bob, pair->note)), "world") == 0, 3000,
                   "Bob's row to show the note's text as it is now");
  screenshot (GTK_WIDGET (ann), one_action ? "undo-paste-ann" : "undo-typing-ann");
  pair_free (pair);
}

/* ---- running --------------------------------------------------------- */

typedef struct
{
  const char *path;
  GTestDataFunc func;
  gconstpointer data;
} Isolated;

/* A critical fails the test that caused it; where it came from goes to
 * stderr first (GTK's own criticals say only what failed, not who called). */
static GLogWriterOutput
log_with_backtrace (GLogLevelFlags   log_level,
                    const GLogField *fields,
                    gsize            n_fields,
                    gpointer         user_data)
{
  if (log_level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    {
      void *frames[48];
      int n = backtrace (frames, G_N_ELEMENTS (frames));

      fprintf (stderr, "backtrace of the %s below:\n", log_level & G_LOG_LEVEL_CRITICAL ? "critical" : "warning");
      backtrace_symbols_fd (frames, n, 2);
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

static void
run_isolated (gconstpointer data)
{
  const Isolated *test = data;

  if (g_test_subprocess ())
    {
      static gsize writer_set = 0;

      if (g_once_init_enter (&writer_set))
        {
          g_log_set_writer_func (log_with_backtrace, NULL, NULL);
          g_once_init_leave (&writer_set, 1);
        }
      test_begin ();
      test->func (test->data);
      test_end ();
      return;
    }
  {
    gint64 start = g_get_monotonic_time ();

    g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_test_message ("%s took %.1f s", test->path, (g_get_monotonic_time () - start) / 1e6);
  }
  g_test_trap_assert_passed ();
}

static const Isolated tests[] = {
  { "/window/notes", test_notes, NULL },
  { "/window/search/not-field-names", test_search_field_names, NULL },
  { "/window/close-with-note-open", test_close_with_note_open, NULL },
  /* (no test path may be the start of another's: a child process runs
   * every test under its path) */
  { "/window/shared/invite-type-conflict", test_shared, NULL },
  { "/window/shared/remote-caret-follows-text", test_remote_caret_follows_text, NULL },
  { "/window/shared/input-method-composition", test_input_method_composition, NULL },
  { "/window/shared/idle-after-join", test_idle_after_join, NULL },
  { "/window/shared/member-leaves", test_member_leaves, NULL },
  { "/window/shared/remote-caret-follows-typing", test_remote_caret_follows_typing, NULL },
  { "/window/process", test_process, NULL },
  { "/window/undo-after-remote/typed", test_undo_after_remote, GINT_TO_POINTER (FALSE) },
  { "/window/undo-after-remote/pasted", test_undo_after_remote, GINT_TO_POINTER (TRUE) },
};

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = NULL;
  int status;

  /* not G_TEST_OPTION_ISOLATE_DIRS: it replaces XDG_DATA_DIRS too, and
   * GTK then finds neither GSettings schemas nor icons */
  home = g_dir_make_tmp ("tandem-window-home-XXXXXX", NULL);
  g_assert_nonnull (home);
  for (guint i = 0; i < 3; i++)
    {
      static const char *vars[] = { "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME" };
      g_autofree char *dir = g_build_filename (home, vars[i], NULL);

      g_mkdir (dir, 0700);
      g_setenv (vars[i], dir, TRUE);
    }
  /* Xvfb has no GPU: GL through llvmpipe takes 4 times as long, and
   * bleeds icon atlas edges into the screenshots */
  g_setenv ("GSK_RENDERER", "cairo", FALSE);
  g_test_init (&argc, &argv, NULL);
  /* a failed child fails its test, and the others still run */
  if (!g_test_subprocess ())
    g_test_set_nonfatal_assertions ();

  if (!gtk_init_check ())
    {
      /* no display (no xvfb-run): nothing here can run */
      g_print ("1..0 # SKIP no display to open\n");
      tandem_test_rm_rf (home);
      return 0;
    }
  adw_init ();
  test_input_method_register ();

  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    g_test_add_data_func (tests[i].path, &tests[i], run_isolated);
  status = g_test_run ();
  tandem_test_rm_rf (home);
  return status;
}
