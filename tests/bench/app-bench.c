/* app-bench.c: the app's start-up time and frame times, under Xvfb
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A benchmark program (not a test), run by bench.py under xvfb-run with
 * GTK_A11Y=none GSETTINGS_BACKEND=memory and GSETTINGS_SCHEMA_DIR set to a
 * build's data/ (the window takes its size and last notebook from there):
 *
 *   app-bench prepare PROFILE_DIR [--notes N] [--long-kb K]
 *       A new profile with one shared notebook of N notes (1,000) of
 *       realistic size: a title, a few Markdown paragraphs, some tags, some
 *       pinned, some coloured; one of them ("Long note", pinned) holds K KB
 *       (100) of Markdown. Written through the store: TandemSavedNote, one
 *       commit per note. PROFILE_DIR/app-bench.json names the notebook and
 *       the long note.
 *
 *   app-bench startup PROFILE_DIR
 *       Takes the time, then starts itself again (fork + exec, as a desktop
 *       launches an app) as the real TandemApplication, driven by
 *       g_application_run() with `--profile PROFILE_DIR --no-discovery`;
 *       the window opens on the prepared notebook (its last notebook, set in
 *       GSettings first). Prints {"startup_ms": ...}: from before the exec
 *       to the end of the first frame of the window that drew it (the
 *       frame clock's "after-paint"), with the steps in between.
 *
 *   app-bench typing PROFILE_DIR [--seconds S] [--rate R] [--remote-in-process]
 *       The same app, window and notebook, showing the long note. A second
 *       TandemPeer (its own store in a temporary folder) joins the notebook
 *       over real TLS on loopback and streams R (200) edits per second into
 *       that note at random places (tandem_note_insert / _delete, each one
 *       committed with tandem_peer_commit, its caret sent as presence),
 *       while the window's buffer gets typing at 10 characters per second
 *       (gtk_text_buffer_insert_interactive_at_cursor inside a user action,
 *       as a key press does). After a second of warm-up, S (10) seconds of
 *       frames are recorded from the window's GdkFrameClock: each frame's
 *       work (from the start of its first phase, "flush-events" or
 *       "before-paint", to the end of "after-paint", with its phases; the
 *       starts are taken by emission hooks, which run before GTK's own
 *       handlers), and the interval between frames; the clock is kept
 *       ticking (gdk_frame_clock_begin_updating) so that an interval longer
 *       than a refresh means a frame the main loop was too busy to start.
 *       Then both sides stop and must end with the same text. Prints JSON.
 *
 *       The second peer runs in a process of its own (`app-bench remote`,
 *       the same code): a collaborator's peer runs on their computer, and
 *       in this process its 200 commits per second would run on the
 *       window's main thread. --remote-in-process runs it here instead, on
 *       the main loop, to show what that costs. --no-highlight turns the
 *       editor's Markdown highlighting off, to tell its share.
 *
 *       The start of the recording goes to stderr as a CLOCK_MONOTONIC
 *       time, to cut a profile to it:
 *         perf record -k CLOCK_MONOTONIC --no-inherit -g --call-graph dwarf \
 *           app-bench typing P; perf report --time START,END
 *       and with APP_BENCH_FRAMES=FILE every frame's phase times (seconds,
 *       same clock) go to FILE, to tell a profile's samples in frames from
 *       those between them.
 */
#define _GNU_SOURCE 1             /* RUSAGE_THREAD */

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "tandem-application.h"
#include "tandem-invite.h"
#include "tandem-note-item.h"
#include "tandem-saved-note.h"
#include "tandem-window-private.h"
#include "tandem-test-files.h"

#define INFO_FILE "app-bench.json"
#define LONG_TITLE "Long note"
#define WARMUP_MS 1000
#define TYPING_INTERVAL_MS 100        /* 10 characters per second */
#define CONVERGE_TIMEOUT_MS 30000
#define SETUP_TIMEOUT_MS 120000

static void
die (const char *format,
     ...) G_GNUC_PRINTF (1, 2) G_GNUC_NORETURN;

static void
die (const char *format,
     ...)
{
  va_list args;

  va_start (args, format);
  fputs ("app-bench: ", stderr);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  va_end (args);
  exit (1);
}

static double
ms_since (gint64 from_us,
          gint64 to_us)
{
  return (double) (to_us - from_us) / 1000.0;
}

/* ---- text that looks like notes ---------------------------------------- */

static const char *words[] = {
  "the", "meeting", "notes", "project", "plan", "draft", "review", "team", "design", "budget",
  "we", "should", "could", "will", "need", "to", "and", "or", "but", "with", "for", "from",
  "about", "after", "before", "next", "week", "Monday", "Friday", "client", "server", "editor",
  "sync", "release", "feature", "bug", "test", "idea", "question", "answer", "list", "shopping",
  "garden", "recipe", "flour", "butter", "sugar", "oven", "minutes", "travel", "train", "hotel",
  "tickets", "book", "chapter", "reading", "summary", "quote", "a", "an", "is", "are", "was",
  "this", "that", "it", "they", "our", "their", "some", "more", "less", "always", "never",
  "quickly", "carefully", "together", "already", "still", "again", "important", "later",
  "écrire", "naïve", "café", "Zürich", "straße", "—", "…",
};

static const char *tags[] = {
  "work", "home", "ideas", "todo", "reading", "recipes", "travel", "meetings", "draft", "archive",
};

static const char *colours[] = { "red", "orange", "yellow", "green", "blue", "purple" };

static void
append_words (GString *out,
              GRand   *rand,
              guint    n,
              gboolean capital)
{
  for (guint i = 0; i < n; i++)
    {
      const char *word = words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))];
      guint style = g_rand_int_range (rand, 0, 40);

      if (i > 0)
        g_string_append_c (out, ' ');
      if (i == 0 && capital && g_ascii_islower (word[0]))
        {
          g_string_append_c (out, g_ascii_toupper (word[0]));
          g_string_append (out, word + 1);
        }
      else if (style == 0)
        g_string_append_printf (out, "**%s**", word);
      else if (style == 1)
        g_string_append_printf (out, "`%s`", word);
      else if (style == 2)
        g_string_append_printf (out, "[%s](https://example.org/%s)", word, word);
      else
        g_string_append (out, word);
    }
}

/* One Markdown block and its blank line: a paragraph mostly, sometimes a
 * heading, a list or a quote. */
static void
append_block (GString *out,
              GRand   *rand)
{
  guint kind = g_rand_int_range (rand, 0, 10);

  if (kind == 0)
    {
      g_string_append (out, "## ");
      append_words (out, rand, g_rand_int_range (rand, 2, 6), TRUE);
      g_string_append (out, "\n\n");
    }
  else if (kind <= 2)
    {
      guint items = g_rand_int_range (rand, 2, 6);

      for (guint i = 0; i < items; i++)
        {
          g_string_append (out, kind == 1 ? "- " : "- [ ] ");
          append_words (out, rand, g_rand_int_range (rand, 2, 10), TRUE);
          g_string_append_c (out, '\n');
        }
      g_string_append_c (out, '\n');
    }
  else if (kind == 3)
    {
      g_string_append (out, "> ");
      append_words (out, rand, g_rand_int_range (rand, 8, 25), TRUE);
      g_string_append (out, ".\n\n");
    }
  else
    {
      guint sentences = g_rand_int_range (rand, 2, 7);

      for (guint i = 0; i < sentences; i++)
        {
          if (i > 0)
            g_string_append_c (out, ' ');
          append_words (out, rand, g_rand_int_range (rand, 5, 18), TRUE);
          g_string_append_c (out, '.');
        }
      g_string_append (out, "\n\n");
    }
}

/* ---- prepare ------------------------------------------------------------ */

static void
check_event (TandemEvent *event,
             GError      *error,
             const char  *what)
{
  if (event == NULL)
    die ("%s: %s", what, error->message);
  tandem_event_unref (event);
}

static void
write_note (TandemSavedNote *saved,
            GRand           *rand,
            gboolean         is_long,
            gsize            long_bytes)
{
  TandemNote *note = tandem_saved_note_get_note (saved);
  g_autoptr(GString) title = g_string_new (NULL);
  GError *error = NULL;
  guint n_blocks;

  /* as TandemPeer sets them on every note it opens */
  tandem_note_set_field_policy (note, "title", TANDEM_FIELD_POLICY_MANUAL);
  tandem_note_set_field_policy (note, "tags", TANDEM_FIELD_POLICY_SET);

  if (is_long)
    g_string_append (title, LONG_TITLE);
  else
    append_words (title, rand, g_rand_int_range (rand, 2, 7), TRUE);
  check_event (tandem_note_set_field (note, "title", g_variant_new_string (title->str), &error), error, "title");
  for (guint i = 0, n = g_rand_int_range (rand, 0, 4); i < n; i++)
    check_event (tandem_note_add_to_set (note, "tags", tags[g_rand_int_range (rand, 0, G_N_ELEMENTS (tags))],
                                         &error), error, "tag");
  if (is_long || g_rand_int_range (rand, 0, 100) < 4)
    check_event (tandem_note_set_field (note, "pinned", g_variant_new_boolean (TRUE), &error), error, "pinned");
  if (g_rand_int_range (rand, 0, 100) < 10)
    check_event (tandem_note_set_field (note, "colour",
                                        g_variant_new_string (colours[g_rand_int_range (rand, 0,
                                                                                        G_N_ELEMENTS (colours))]),
                                        &error), error, "colour");

  /* the text, a block at a time, as if written over a few sittings */
  n_blocks = is_long ? G_MAXUINT : (guint) g_rand_int_range (rand, 1, 7);
  for (guint i = 0; i < n_blocks; i++)
    {
      g_autoptr(GString) block = g_string_new (NULL);

      append_block (block, rand);
      check_event (tandem_note_insert (note, tandem_note_get_length (note), block->str, &error), error, "text");
      if (is_long)
        {
          g_autofree char *text = tandem_note_dup_text (note);

          if (strlen (text) >= long_bytes)
            break;
        }
    }
  if (!tandem_saved_note_commit (saved, &error))
    die ("commit: %s", error->message);
}

static int
run_prepare (const char *profile,
             guint       n_notes,
             guint       long_kb)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemStore) store = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261122);
  g_autofree char *notebook = NULL;
  g_autofree char *long_id = NULL;
  g_autofree char *info_path = g_build_filename (profile, INFO_FILE, NULL);
  g_autofree char *info = NULL;
  guint64 peer_id;
  gint64 start = g_get_monotonic_time ();
  guint long_index;
  gsize text_bytes = 0;

  if (g_file_test (profile, G_FILE_TEST_EXISTS))
    die ("%s exists already; prepare makes a new profile", profile);
  if (g_mkdir_with_parents (profile, 0700) != 0)
    die ("cannot make %s: %s", profile, g_strerror (errno));
  store = tandem_store_open (profile, &error);
  if (store == NULL)
    die ("%s", error->message);
  if (!tandem_store_set_display_name (store, "Ann", &error) ||
      !tandem_store_set_colour (store, "#3584e4", &error))
    die ("%s", error->message);
  notebook = tandem_store_create_notebook (store, "Team notes", &error);
  if (notebook == NULL)
    die ("%s", error->message);
  peer_id = tandem_store_get_peer_id (store);
  long_index = n_notes / 2;
  for (guint i = 0; i < n_notes; i++)
    {
      g_autoptr(TandemSavedNote) saved = tandem_saved_note_create (store, notebook, peer_id, &error);
      g_autofree char *text = NULL;

      if (saved == NULL)
        die ("%s", error->message);
      write_note (saved, rand, i == long_index, (gsize) long_kb * 1024);
      text = tandem_note_dup_text (tandem_saved_note_get_note (saved));
      text_bytes += strlen (text);
      if (i == long_index)
        long_id = g_strdup (tandem_saved_note_get_id (saved));
    }
  info = g_strdup_printf ("{\"notebook\":\"%s\",\"long_note\":\"%s\",\"notes\":%u,\"long_kb\":%u}\n",
                          notebook, long_id, n_notes, long_kb);
  if (!g_file_set_contents (info_path, info, -1, &error))
    die ("%s", error->message);
  g_print ("{\"notebook\":\"%s\",\"long_note\":\"%s\",\"notes\":%u,\"text_bytes\":%" G_GSIZE_FORMAT
           ",\"prepare_ms\":%.1f}\n", notebook, long_id, n_notes, text_bytes,
           ms_since (start, g_get_monotonic_time ()));
  return 0;
}

typedef struct
{
  char *notebook;
  char *long_note;
  guint notes;
} Info;

static void
read_info (const char *profile,
           Info       *info)
{
  g_autofree char *path = g_build_filename (profile, INFO_FILE, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;

  if (!json_parser_load_from_file (parser, path, &error))
    die ("%s (make the profile with `app-bench prepare`)", error->message);
  root = json_node_get_object (json_parser_get_root (parser));
  info->notebook = g_strdup (json_object_get_string_member (root, "notebook"));
  info->long_note = g_strdup (json_object_get_string_member (root, "long_note"));
  info->notes = (guint) json_object_get_int_member (root, "notes");
}

/* ---- the second peer ------------------------------------------------------ */

typedef struct
{
  char *dir;
  TandemStore *store;
  TandemPeer *peer;
  char *note_id;
  TandemSavedNote *saved;
  GRand *rand;
  double rate;
  guint target_length;          /* the text's length is kept around this */
  guint tick_id;
  gint64 started;
  guint64 edits;
  double commit_ms_total;
  double commit_ms_max;
  gboolean commit_failed;
} Remote;

static Remote *
remote_new (const char *invite,
            const char *note_id,
            double      rate)
{
  Remote *self = g_new0 (Remote, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *notebook = NULL;
  /* the store on tmpfs when there is one: this peer is load, not what is
   * measured, and must keep up its rate */
  g_autofree char *tmpl = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR)
    ? g_strdup ("/dev/shm/tandem-app-bench-XXXXXX") : NULL;

  self->dir = tmpl ? g_mkdtemp (g_steal_pointer (&tmpl)) : g_dir_make_tmp ("tandem-app-bench-XXXXXX", &error);
  if (self->dir == NULL)
    die ("no temporary folder: %s", error ? error->message : g_strerror (errno));
  self->store = tandem_store_open (self->dir, &error);
  if (self->store == NULL ||
      !tandem_store_set_display_name (self->store, "Bob", &error) ||
      !tandem_store_set_colour (self->store, "#2ec27e", &error))
    die ("remote store: %s", error->message);
  self->peer = tandem_peer_new (self->store, &error);
  if (self->peer == NULL || !tandem_peer_start (self->peer, 0, FALSE, &error))
    die ("remote peer: %s", error->message);
  notebook = tandem_peer_join (self->peer, invite, &error);
  if (notebook == NULL)
    die ("join: %s", error->message);
  self->note_id = g_strdup (note_id);
  self->rand = g_rand_new_with_seed (4242);
  self->rate = rate;
  return self;
}

/* The note, once it is here with @length characters and the peer is in
 * sync with the window's. */
static gboolean
remote_ready (Remote *self,
              guint   length)
{
  if (self->saved == NULL)
    {
      TandemSavedNote *saved = tandem_peer_get_note (self->peer, self->note_id, NULL);

      if (saved == NULL)
        return FALSE;
      self->saved = g_object_ref (saved);
    }
  if (tandem_note_get_length (tandem_saved_note_get_note (self->saved)) != length ||
      !tandem_peer_is_synced (self->peer, NULL))
    return FALSE;
  self->target_length = length;
  return TRUE;
}

static void
remote_edit (Remote *self)
{
  TandemNote *note = tandem_saved_note_get_note (self->saved);
  guint length = tandem_note_get_length (note);
  g_autoptr(GError) error = NULL;
  g_autoptr(TandemEvent) event = NULL;
  guint pos;
  gint64 t0;
  double ms;

  /* inserts a little more often while the text is shorter than it was */
  if (length < 16 || g_rand_int_range (self->rand, 0, 100) < (length < self->target_length ? 60 : 40))
    {
      const char *word = words[g_rand_int_range (self->rand, 0, G_N_ELEMENTS (words))];
      g_autofree char *text = g_strconcat (word, g_rand_int_range (self->rand, 0, 10) == 0 ? "\n" : " ", NULL);

      pos = g_rand_int_range (self->rand, 0, length + 1);
      event = tandem_note_insert (note, pos, text, &error);
      pos += g_utf8_strlen (text, -1);
    }
  else
    {
      guint len = g_rand_int_range (self->rand, 1, 6);

      pos = g_rand_int_range (self->rand, 0, length - len);
      event = tandem_note_delete (note, pos, len, &error);
    }
  if (event == NULL)
    die ("remote edit: %s", error->message);
  t0 = g_get_monotonic_time ();
  if (!tandem_peer_commit (self->peer, self->saved, &error))
    {
      g_printerr ("app-bench: remote commit: %s\n", error->message);
      self->commit_failed = TRUE;
    }
  ms = ms_since (t0, g_get_monotonic_time ());
  self->commit_ms_total += ms;
  self->commit_ms_max = MAX (self->commit_ms_max, ms);
  tandem_peer_set_presence (self->peer, "online", self->note_id, pos, pos);
  self->edits++;
}

/* Every 5 ms, the edits due by now: the rate holds even when a tick comes
 * late. */
static gboolean
remote_tick (gpointer data)
{
  Remote *self = data;
  double due = ms_since (self->started, g_get_monotonic_time ()) / 1000.0 * self->rate;

  while ((double) self->edits < due)
    remote_edit (self);
  return G_SOURCE_CONTINUE;
}

static void
remote_go (Remote *self)
{
  self->started = g_get_monotonic_time ();
  self->tick_id = g_timeout_add (5, remote_tick, self);
}

static char *
remote_stop (Remote *self)
{
  double seconds = ms_since (self->started, g_get_monotonic_time ()) / 1000.0;

  g_clear_handle_id (&self->tick_id, g_source_remove);
  return g_strdup_printf ("stopped %" G_GUINT64_FORMAT " %.3f %.3f %.3f %d", self->edits, seconds,
                          self->commit_ms_total, self->commit_ms_max, self->commit_failed);
}

static char *
remote_hash (Remote *self)
{
  g_autofree char *text = tandem_note_dup_text (tandem_saved_note_get_note (self->saved));
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);

  return g_strdup_printf ("hash %s %ld", sum, g_utf8_strlen (text, -1));
}

static void
remote_free (Remote *self)
{
  g_clear_handle_id (&self->tick_id, g_source_remove);
  tandem_peer_stop (self->peer);
  g_clear_object (&self->saved);
  g_clear_object (&self->peer);
  g_clear_object (&self->store);
  tandem_test_rm_rf (self->dir);
  g_free (self->dir);
  g_free (self->note_id);
  g_rand_free (self->rand);
  g_free (self);
}

/* `app-bench remote INVITE NOTE LENGTH RATE`: the second peer in a process
 * of its own, driven over stdin ("go", "stop", "hash"; end of input quits);
 * answers on stdout ("ready", "stopped ...", "hash ..."). */
typedef struct
{
  Remote *remote;
  GMainLoop *loop;
  GDataInputStream *in;
  guint length;
  gboolean ready;
} RemoteProcess;

static void read_command (RemoteProcess *self);

static void
command_read_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  RemoteProcess *self = data;
  g_autofree char *line = g_data_input_stream_read_line_finish (self->in, result, NULL, NULL);
  g_autofree char *answer = NULL;

  if (line == NULL)
    {
      g_main_loop_quit (self->loop);
      return;
    }
  if (g_str_equal (line, "go"))
    remote_go (self->remote);
  else if (g_str_equal (line, "stop"))
    answer = remote_stop (self->remote);
  else if (g_str_equal (line, "hash"))
    answer = remote_hash (self->remote);
  if (answer != NULL)
    {
      printf ("%s\n", answer);
      fflush (stdout);
    }
  read_command (self);
}

static void
read_command (RemoteProcess *self)
{
  g_data_input_stream_read_line_async (self->in, G_PRIORITY_DEFAULT, NULL, command_read_cb, self);
}

static gboolean
remote_wait_ready (gpointer data)
{
  RemoteProcess *self = data;

  if (!remote_ready (self->remote, self->length))
    return G_SOURCE_CONTINUE;
  printf ("ready\n");
  fflush (stdout);
  read_command (self);
  return G_SOURCE_REMOVE;
}

static int
run_remote (const char *invite,
            const char *note_id,
            guint       length,
            double      rate)
{
  RemoteProcess self = { 0 };
  g_autoptr(GInputStream) in = g_unix_input_stream_new (0, FALSE);

  self.in = g_data_input_stream_new (in);
  self.loop = g_main_loop_new (NULL, FALSE);
  self.length = length;
  self.remote = remote_new (invite, note_id, rate);
  g_timeout_add (20, remote_wait_ready, &self);
  g_main_loop_run (self.loop);
  remote_free (self.remote);
  g_object_unref (self.in);
  g_main_loop_unref (self.loop);
  return 0;
}

/* ---- frames ------------------------------------------------------------- */

enum { PH_FLUSH, PH_BEFORE, PH_UPDATE, PH_LAYOUT, PH_PAINT, PH_AFTER, N_PHASES };
static const char *phase_signals[N_PHASES] = {
  "flush-events", "before-paint", "update", "layout", "paint", "after-paint",
};

typedef struct
{
  gint64 start[N_PHASES];       /* when each phase's first handler began */
  gint64 begin;                 /* the first of them */
  gint64 end;                   /* after the last "after-paint" handler */
  gboolean drew;                /* the surface rendered in this frame */
} Frame;

typedef struct
{
  GdkFrameClock *clock;
  GdkSurface *surface;
  Frame current;
  gboolean in_frame;
  GArray *frames;               /* Frame, while recording */
  gboolean recording;
  void (*on_frame) (const Frame *frame, gpointer data);
  gpointer on_frame_data;
} FrameWatch;

static FrameWatch watch;

static gboolean
phase_hook (GSignalInvocationHint *hint,
            guint                  n_params,
            const GValue          *params,
            gpointer               data)
{
  int phase = GPOINTER_TO_INT (data);

  if (g_value_get_object (&params[0]) != (GObject *) watch.clock)
    return TRUE;
  /* the first phase of a frame starts it: "flush-events" and "update"
   * run only in some frames */
  if (!watch.in_frame)
    {
      memset (&watch.current, 0, sizeof watch.current);
      watch.in_frame = TRUE;
    }
  watch.current.start[phase] = g_get_monotonic_time ();
  return TRUE;
}

static gboolean
render_hook (GSignalInvocationHint *hint,
             guint                  n_params,
             const GValue          *params,
             gpointer               data)
{
  if (g_value_get_object (&params[0]) == (GObject *) watch.surface)
    watch.current.drew = TRUE;
  return TRUE;
}

static void
after_paint_cb (GdkFrameClock *clock,
                gpointer       data)
{
  watch.current.end = g_get_monotonic_time ();
  if (!watch.in_frame)
    return;
  watch.in_frame = FALSE;
  for (int p = 0; p < N_PHASES; p++)
    if (watch.current.start[p] != 0)
      {
        watch.current.begin = watch.current.start[p];
        break;
      }
  if (watch.recording)
    g_array_append_val (watch.frames, watch.current);
  if (watch.on_frame != NULL)
    watch.on_frame (&watch.current, watch.on_frame_data);
}

/* Hooks run before any handler of the signal, so a phase's time includes
 * all of GTK's own work in it. */
static void
watch_frames (GtkWidget *window)
{
  watch.clock = gtk_widget_get_frame_clock (window);
  watch.surface = gtk_native_get_surface (GTK_NATIVE (window));
  watch.frames = g_array_new (FALSE, TRUE, sizeof (Frame));
  for (int i = 0; i < N_PHASES; i++)
    g_signal_add_emission_hook (g_signal_lookup (phase_signals[i], GDK_TYPE_FRAME_CLOCK), 0, phase_hook,
                                GINT_TO_POINTER (i), NULL);
  g_signal_add_emission_hook (g_signal_lookup ("render", GDK_TYPE_SURFACE), 0, render_hook, NULL, NULL);
  g_signal_connect_after (watch.clock, "after-paint", G_CALLBACK (after_paint_cb), NULL);
}

static int
cmp_double (gconstpointer a,
            gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* Nearest rank, as bench.py's percentile(). */
static double
percentile (GArray *sorted,
            double  p)
{
  guint k;

  if (sorted->len == 0)
    return 0;
  k = (guint) MAX (1.0, ceil (sorted->len * p / 100.0));
  return g_array_index (sorted, double, MIN (sorted->len, k) - 1);
}

static void
add_stats (JsonBuilder *b,
           const char  *name,
           GArray      *values,
           double       over)
{
  guint n_over = 0;

  g_array_sort (values, cmp_double);
  for (guint i = 0; i < values->len; i++)
    n_over += g_array_index (values, double, i) > over;
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "count");
  json_builder_add_int_value (b, values->len);
  json_builder_set_member_name (b, "p50");
  json_builder_add_double_value (b, percentile (values, 50));
  json_builder_set_member_name (b, "p95");
  json_builder_add_double_value (b, percentile (values, 95));
  json_builder_set_member_name (b, "p99");
  json_builder_add_double_value (b, percentile (values, 99));
  json_builder_set_member_name (b, "max");
  json_builder_add_double_value (b, values->len ? g_array_index (values, double, values->len - 1) : 0);
  json_builder_set_member_name (b, "over");
  json_builder_add_double_value (b, over);
  json_builder_set_member_name (b, "n_over");
  json_builder_add_int_value (b, n_over);
  json_builder_end_object (b);
}

static void
add_values (JsonBuilder *b,
            const char  *name,
            GArray      *values)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < values->len; i++)
    json_builder_add_double_value (b, round (g_array_index (values, double, i) * 1000.0) / 1000.0);
  json_builder_end_array (b);
}

/* ---- the app, as users start it -------------------------------------------- */

typedef struct
{
  const char *mode;
  char *profile;
  Info info;
  TandemApplication *app;
  TandemWindow *win;
  gint64 t0;                    /* startup: the launcher's clock before exec */
  gint64 main_entry;
  gint64 startup_done, activate, window_added, realized, mapped;
  gboolean first_frame_seen;
  /* typing */
  double seconds;
  double rate;
  gboolean remote_in_process;
  gboolean no_highlight;        /* diagnosis: the editor without Markdown highlighting */
  Remote *remote;               /* in this process */
  GSubprocess *child;           /* or in its own */
  GOutputStream *child_in;
  GDataInputStream *child_out;
  char *remote_stopped;
  char *remote_hash_line;
  guint long_length;
  guint typing_id;
  guint typed;
  guint remote_changes;
  gint64 phase_started;
  double thread_cpu0, process_cpu0; /* at the start of the recording */
  gint64 recording_started;
  guint typed_before;           /* keystrokes typed before the recording */
  double main_thread_busy, process_cores;
  guint deadline_id;
  gboolean converged;
  double converge_ms;
  JsonBuilder *result;
} Bench;

static Bench bench;

static GtkTextBuffer *
editor_buffer (void)
{
  return gtk_text_view_get_buffer (GTK_TEXT_VIEW (tandem_note_editor_get_view (bench.win->editor)));
}

/* the notes listed (not the row widgets: the list view makes those only
 * for the notes in sight) */
static guint
count_rows (void)
{
  return g_list_model_get_n_items (G_LIST_MODEL (bench.win->notes_selection));
}

static void
finish (int status)
{
  if (bench.result != NULL)
    {
      g_autoptr(JsonNode) root = NULL;
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      g_autofree char *json = NULL;

      json_builder_end_object (bench.result);
      root = json_builder_get_root (bench.result);
      json_generator_set_root (gen, root);
      json = json_generator_to_data (gen, NULL);
      printf ("%s\n", json);
      fflush (stdout);
    }
  if (status != 0)
    exit (status);
  g_application_quit (G_APPLICATION (bench.app));
}

static void
member_double (const char *name,
              double      value)
{
  json_builder_set_member_name (bench.result, name);
  json_builder_add_double_value (bench.result, round (value * 1000.0) / 1000.0);
}

static void
member_int (const char *name,
           gint64      value)
{
  json_builder_set_member_name (bench.result, name);
  json_builder_add_int_value (bench.result, value);
}

static void
member_string (const char *name,
               const char *value)
{
  json_builder_set_member_name (bench.result, name);
  json_builder_add_string_value (bench.result, value);
}

static const char *
renderer_name (void)
{
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (bench.win));

  return renderer ? G_OBJECT_TYPE_NAME (renderer) : "none";
}

static gboolean
deadline_passed (gpointer data)
{
  die ("%s: nothing happened for %d s (%s)", bench.mode, SETUP_TIMEOUT_MS / 1000, (const char *) data);
}

/* ---- startup -------------------------------------------------------------- */

static void
startup_first_frame (const Frame *frame,
                     gpointer     data)
{
  gint64 t0 = bench.t0;

  if (!frame->drew || bench.first_frame_seen)
    return;
  bench.first_frame_seen = TRUE;
  watch.on_frame = NULL;
  bench.result = json_builder_new ();
  json_builder_begin_object (bench.result);
  member_double ("startup_ms", ms_since (t0, frame->end));
  member_double ("exec_to_main_ms", ms_since (t0, bench.main_entry));
  member_double ("app_startup_done_ms", ms_since (t0, bench.startup_done));
  member_double ("activate_ms", ms_since (t0, bench.activate));
  member_double ("window_object_ms", ms_since (t0, bench.window_added));
  member_double ("window_filled_ms", ms_since (t0, bench.realized));
  member_double ("mapped_ms", ms_since (t0, bench.mapped));
  member_double ("first_frame_start_ms", ms_since (t0, frame->begin));
  member_double ("first_frame_layout_ms", ms_since (frame->start[PH_LAYOUT], frame->start[PH_PAINT]));
  member_double ("first_frame_paint_ms", ms_since (frame->start[PH_PAINT], frame->start[PH_AFTER]));
  member_double ("first_frame_ms", ms_since (frame->begin, frame->end));
  member_int ("rows", count_rows ());
  member_string ("notebook_shown", g_strcmp0 (tandem_window_get_notebook (bench.win), bench.info.notebook) == 0
                                   ? "prepared" : "other");
  member_string ("renderer", renderer_name ());
  {
    int w = gtk_widget_get_width (GTK_WIDGET (bench.win)), h = gtk_widget_get_height (GTK_WIDGET (bench.win));
    g_autofree char *size = g_strdup_printf ("%dx%d", w, h);

    member_string ("window", size);
  }
  if (count_rows () != bench.info.notes)
    {
      g_printerr ("app-bench: the window lists %u notes, not %u\n", count_rows (), bench.info.notes);
      finish (1);
    }
  finish (0);
}

/* ---- typing --------------------------------------------------------------- */

static void send_child (const char *line);
static void typing_converge (void);

static gboolean
type_key (gpointer data)
{
  GtkTextBuffer *buffer = editor_buffer ();
  static const char sentence[] = "Typing along while a collaborator edits the same note. ";
  char c[2] = { sentence[bench.typed % (sizeof sentence - 1)], 0 };

  gtk_text_buffer_begin_user_action (buffer);
  gtk_text_buffer_insert_interactive_at_cursor (buffer, c, 1, TRUE);
  gtk_text_buffer_end_user_action (buffer);
  bench.typed++;
  return G_SOURCE_CONTINUE;
}

static void
remote_change_cb (TandemPeer *peer,
                  const char *note_id,
                  guint64     author,
                  gpointer    data)
{
  if (watch.recording)
    bench.remote_changes++;
}

static int
slower_first (gconstpointer a,
              gconstpointer b,
              gpointer      data)
{
  GArray *frames = data;
  const Frame *x = &g_array_index (frames, Frame, *(const guint *) a);
  const Frame *y = &g_array_index (frames, Frame, *(const guint *) b);
  gint64 dx = x->end - x->begin, dy = y->end - y->begin;

  return dx > dy ? -1 : dx < dy;
}

static void
typing_report (void)
{
  g_autoptr(GArray) work = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) intervals = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *phases[N_PHASES];
  g_autoptr(GArray) raw_work = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) raw_intervals = g_array_new (FALSE, FALSE, sizeof (double));
  static const char *phase_names[N_PHASES] = { "events", "before_paint", "update", "layout", "paint", "after_paint" };
  guint drawn = 0;
  gint64 refresh = 16667;
  GdkFrameTimings *timings = gdk_frame_clock_get_current_timings (watch.clock);

  if (timings != NULL && gdk_frame_timings_get_refresh_interval (timings) > 0)
    refresh = gdk_frame_timings_get_refresh_interval (timings);
  for (int p = 0; p < N_PHASES; p++)
    phases[p] = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i < watch.frames->len; i++)
    {
      Frame *f = &g_array_index (watch.frames, Frame, i);
      double w = ms_since (f->begin, f->end);

      if (i > 0)
        {
          double gap = ms_since (g_array_index (watch.frames, Frame, i - 1).begin, f->begin);

          g_array_append_val (intervals, gap);
          g_array_append_val (raw_intervals, gap);
        }
      if (!f->drew)
        continue;
      drawn++;
      g_array_append_val (work, w);
      g_array_append_val (raw_work, w);
      /* a phase runs until the next one that ran in this frame begins */
      for (int p = 0; p < N_PHASES; p++)
        {
          gint64 next = f->end;
          double d = 0;

          for (int q = p + 1; q < N_PHASES; q++)
            if (f->start[q] != 0)
              {
                next = f->start[q];
                break;
              }
          if (f->start[p] != 0)
            d = ms_since (f->start[p], next);
          g_array_append_val (phases[p], d);
        }
    }

  /* every frame's phases, for lining a profile up with them */
  if (g_getenv ("APP_BENCH_FRAMES") != NULL)
    {
      FILE *out = fopen (g_getenv ("APP_BENCH_FRAMES"), "w");

      for (guint i = 0; out != NULL && i < watch.frames->len; i++)
        {
          Frame *f = &g_array_index (watch.frames, Frame, i);

          for (int p = 0; p < N_PHASES; p++)
            fprintf (out, "%.6f ", f->start[p] / 1e6);
          fprintf (out, "%.6f %d\n", f->end / 1e6, f->drew);
        }
      if (out != NULL)
        fclose (out);
    }

  bench.result = json_builder_new ();
  json_builder_begin_object (bench.result);
  member_double ("seconds", bench.seconds);
  member_int ("frames", watch.frames->len);
  member_int ("frames_drawn", drawn);
  add_stats (bench.result, "work_ms", work, 16.0);
  /* a frame the clock could not start on time: more than 1.5 refreshes */
  add_stats (bench.result, "interval_ms", intervals, refresh * 1.5 / 1000.0);
  member_double ("refresh_ms", refresh / 1000.0);
  json_builder_set_member_name (bench.result, "phases_ms");
  json_builder_begin_object (bench.result);
  for (int p = 0; p < N_PHASES; p++)
    {
      add_stats (bench.result, phase_names[p], phases[p], 16.0);
      g_array_unref (phases[p]);
    }
  json_builder_end_object (bench.result);
  /* the five slowest frames, phase by phase */
  {
    g_autoptr(GArray) order = g_array_new (FALSE, FALSE, sizeof (guint));

    for (guint i = 0; i < watch.frames->len; i++)
      if (g_array_index (watch.frames, Frame, i).drew)
        g_array_append_val (order, i);
    g_array_sort_with_data (order, slower_first, watch.frames);
    json_builder_set_member_name (bench.result, "slowest_frames_ms");
    json_builder_begin_array (bench.result);
    for (guint k = 0; k < MIN (order->len, 5); k++)
      {
        Frame *f = &g_array_index (watch.frames, Frame, g_array_index (order, guint, k));

        json_builder_begin_object (bench.result);
        json_builder_set_member_name (bench.result, "work");
        json_builder_add_double_value (bench.result, ms_since (f->begin, f->end));
        for (int p = 0; p < N_PHASES; p++)
          {
            gint64 next = f->end;

            for (int q = p + 1; q < N_PHASES; q++)
              if (f->start[q] != 0)
                {
                  next = f->start[q];
                  break;
                }
            json_builder_set_member_name (bench.result, phase_names[p]);
            json_builder_add_double_value (bench.result, f->start[p] ? ms_since (f->start[p], next) : 0);
          }
        json_builder_end_object (bench.result);
      }
    json_builder_end_array (bench.result);
  }
  add_values (bench.result, "work_values_ms", raw_work);
  add_values (bench.result, "interval_values_ms", raw_intervals);
  /* the main thread's CPU time over the wall time: near 1, frames wait */
  member_double ("main_thread_busy", bench.main_thread_busy);
  member_double ("process_cores", bench.process_cores);
  /* during the recording; a busy main loop types fewer than due */
  member_int ("local_chars_typed", bench.typed - bench.typed_before);
  member_int ("local_chars_due", (gint64) (bench.seconds * 1000 / TYPING_INTERVAL_MS));
  member_int ("remote_change_signals", bench.remote_changes);
  member_string ("remote", bench.remote_in_process ? "in-process" : "own process");
  json_builder_set_member_name (bench.result, "highlighting");
  json_builder_add_boolean_value (bench.result, !bench.no_highlight);
  member_string ("renderer", renderer_name ());
}

static void
typing_done (void)
{
  GtkTextBuffer *buffer = editor_buffer ();
  GtkTextIter start, end;
  g_autofree char *text = NULL;
  g_autofree char *note_text = tandem_note_dup_text (tandem_saved_note_get_note (tandem_note_editor_get_note (bench.win->editor)));
  g_auto(GStrv) stopped = g_strsplit (bench.remote_stopped, " ", -1);

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, TRUE);
  g_clear_handle_id (&bench.deadline_id, g_source_remove);
  member_int ("remote_edits", g_ascii_strtoull (stopped[1], NULL, 10));
  member_double ("remote_edits_per_s", g_ascii_strtod (stopped[1], NULL) / g_ascii_strtod (stopped[2], NULL));
  member_double ("remote_commit_ms_mean", g_ascii_strtod (stopped[3], NULL) / MAX (1.0, g_ascii_strtod (stopped[1], NULL)));
  member_double ("remote_commit_ms_max", g_ascii_strtod (stopped[4], NULL));
  member_int ("final_length", g_utf8_strlen (text, -1));
  member_int ("long_note_length", bench.long_length);
  json_builder_set_member_name (bench.result, "buffer_matches_note");
  json_builder_add_boolean_value (bench.result, g_strcmp0 (text, note_text) == 0);
  json_builder_set_member_name (bench.result, "converged");
  json_builder_add_boolean_value (bench.result, bench.converged);
  member_double ("converge_ms", bench.converge_ms);
  finish (bench.converged && g_strcmp0 (text, note_text) == 0 ? 0 : 3);
}

static void
on_hash (const char *line)
{
  GtkTextBuffer *buffer = editor_buffer ();
  GtkTextIter start, end;
  g_autofree char *text = NULL;
  g_autofree char *mine = NULL;
  g_auto(GStrv) parts = g_strsplit (line, " ", -1);

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, TRUE);
  mine = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
  if (g_strv_length (parts) >= 2 && g_str_equal (parts[1], mine))
    {
      bench.converged = TRUE;
      bench.converge_ms = ms_since (bench.phase_started, g_get_monotonic_time ());
      typing_done ();
      return;
    }
  if (ms_since (bench.phase_started, g_get_monotonic_time ()) > CONVERGE_TIMEOUT_MS)
    {
      typing_done ();
      return;
    }
  typing_converge ();
}

static gboolean
ask_hash (gpointer data)
{
  if (bench.remote != NULL)
    {
      g_autofree char *line = remote_hash (bench.remote);

      on_hash (line);
    }
  else
    send_child ("hash");
  return G_SOURCE_REMOVE;
}

static void
typing_converge (void)
{
  g_timeout_add (200, ask_hash, NULL);
}

static void
on_stopped (const char *line)
{
  bench.remote_stopped = g_strdup (line);
  bench.phase_started = g_get_monotonic_time ();
  typing_converge ();
}

static double
cpu_seconds (int who)
{
  struct rusage ru;

  if (getrusage (who, &ru) != 0)
    return 0;
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static gboolean
stop_recording (gpointer data)
{
  double wall = ms_since (bench.recording_started, g_get_monotonic_time ()) / 1000.0;

  bench.main_thread_busy = (cpu_seconds (RUSAGE_THREAD) - bench.thread_cpu0) / wall;
  bench.process_cores = (cpu_seconds (RUSAGE_SELF) - bench.process_cpu0) / wall;
  watch.recording = FALSE;
  gdk_frame_clock_end_updating (watch.clock);
  g_clear_handle_id (&bench.typing_id, g_source_remove);
  typing_report ();
  if (bench.remote != NULL)
    {
      g_autofree char *line = remote_stop (bench.remote);

      on_stopped (line);
    }
  else
    send_child ("stop");
  return G_SOURCE_REMOVE;
}

static gboolean
start_recording (gpointer data)
{
  g_array_set_size (watch.frames, 0);
  bench.remote_changes = 0;
  watch.recording = TRUE;
  bench.recording_started = g_get_monotonic_time ();
  bench.typed_before = bench.typed;
  bench.thread_cpu0 = cpu_seconds (RUSAGE_THREAD);
  bench.process_cpu0 = cpu_seconds (RUSAGE_SELF);
  /* to cut a profile (perf record -k CLOCK_MONOTONIC) to the recording */
  g_printerr ("app-bench: recording from %.6f s for %g s (CLOCK_MONOTONIC)\n",
              g_get_monotonic_time () / 1e6, bench.seconds);
  g_timeout_add ((guint) (bench.seconds * 1000), stop_recording, NULL);
  return G_SOURCE_REMOVE;
}

static void
on_ready (void)
{
  g_clear_handle_id (&bench.deadline_id, g_source_remove);
  bench.deadline_id = g_timeout_add (SETUP_TIMEOUT_MS + (guint) (bench.seconds * 1000), deadline_passed,
                                     (gpointer) "typing or converging");
  if (bench.remote != NULL)
    remote_go (bench.remote);
  else
    send_child ("go");
  gdk_frame_clock_begin_updating (watch.clock);
  bench.typing_id = g_timeout_add (TYPING_INTERVAL_MS, type_key, NULL);
  g_timeout_add (WARMUP_MS, start_recording, NULL);
}

static void read_child_line (void);

static void
child_line_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish (bench.child_out, result, NULL, &error);

  if (line == NULL)
    die ("the remote peer's process ended%s%s", error ? ": " : "", error ? error->message : "");
  if (g_str_equal (line, "ready"))
    on_ready ();
  else if (g_str_has_prefix (line, "stopped "))
    on_stopped (line);
  else if (g_str_has_prefix (line, "hash "))
    on_hash (line);
  read_child_line ();
}

static void
read_child_line (void)
{
  g_data_input_stream_read_line_async (bench.child_out, G_PRIORITY_DEFAULT, NULL, child_line_cb, NULL);
}

static void
send_child (const char *line)
{
  g_autofree char *text = g_strconcat (line, "\n", NULL);
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all (bench.child_in, text, strlen (text), NULL, NULL, &error) ||
      !g_output_stream_flush (bench.child_in, NULL, &error))
    die ("writing to the remote peer: %s", error->message);
}

static gboolean
wait_remote_in_process (gpointer data)
{
  if (!remote_ready (bench.remote, bench.long_length))
    return G_SOURCE_CONTINUE;
  on_ready ();
  return G_SOURCE_REMOVE;
}

/* An invite that names loopback only. */
static char *
loopback_invite (TandemPeer *peer,
                 const char *notebook)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *code = tandem_peer_dup_invite (peer, notebook, &error);
  g_autoptr(TandemInvite) invite = NULL;
  g_autofree char *address = NULL;
  const char *addresses[2] = { NULL, NULL };
  char *out;

  if (code == NULL || (invite = tandem_invite_decode (code, &error)) == NULL)
    die ("invite: %s", error->message);
  address = g_strdup_printf ("127.0.0.1:%u", tandem_peer_get_port (peer));
  addresses[0] = address;
  out = tandem_invite_encode (invite->notebook_id, invite->key, addresses, &error);
  if (out == NULL)
    die ("invite: %s", error->message);
  return out;
}

static gboolean
typing_setup (gpointer data)
{
  TandemPeer *peer = tandem_application_get_peer (bench.app);
  g_autofree char *invite = NULL;
  g_autofree char *rate = g_strdup_printf ("%g", bench.rate);
  g_autofree char *length = NULL;
  g_autoptr(GError) error = NULL;
  TandemSavedNote *open;

  if (bench.no_highlight)
    {
      gtk_source_buffer_set_highlight_syntax (GTK_SOURCE_BUFFER (editor_buffer ()), FALSE);
      gtk_source_buffer_set_language (GTK_SOURCE_BUFFER (editor_buffer ()), NULL);
    }
  tandem_window_show_note (bench.win, bench.info.long_note);
  open = tandem_note_editor_get_note (bench.win->editor);
  if (open == NULL || !g_str_equal (tandem_saved_note_get_id (open), bench.info.long_note))
    die ("the window did not open the long note");
  bench.long_length = (guint) gtk_text_buffer_get_char_count (editor_buffer ());
  if (bench.long_length == 0)
    die ("the long note shows empty");
  g_signal_connect (peer, "remote-change", G_CALLBACK (remote_change_cb), NULL);
  invite = loopback_invite (peer, bench.info.notebook);
  length = g_strdup_printf ("%u", bench.long_length);
  bench.deadline_id = g_timeout_add (SETUP_TIMEOUT_MS, deadline_passed, (gpointer) "the second peer to sync");
  if (bench.remote_in_process)
    {
      bench.remote = remote_new (invite, bench.info.long_note, bench.rate);
      g_timeout_add (20, wait_remote_in_process, NULL);
    }
  else
    {
      g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", &error);

      if (self_exe == NULL)
        die ("%s", error->message);
      bench.child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                      self_exe, "remote", invite, bench.info.long_note, length, rate, NULL);
      if (bench.child == NULL)
        die ("the remote peer: %s", error->message);
      bench.child_in = g_subprocess_get_stdin_pipe (bench.child);
      bench.child_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bench.child));
      read_child_line ();
    }
  return G_SOURCE_REMOVE;
}

static void
typing_first_frame (const Frame *frame,
                    gpointer     data)
{
  if (!frame->drew || bench.first_frame_seen)
    return;
  bench.first_frame_seen = TRUE;
  watch.on_frame = NULL;
  g_idle_add (typing_setup, NULL);
}

/* ---- hooking the app ------------------------------------------------------ */

static void
window_realize_cb (GtkWidget *widget)
{
  bench.realized = g_get_monotonic_time ();
  watch_frames (widget);
  watch.on_frame = g_str_equal (bench.mode, "typing") ? typing_first_frame : startup_first_frame;
}

static void
window_map_cb (GtkWidget *widget)
{
  bench.mapped = g_get_monotonic_time ();
}

static void
window_added_cb (GtkApplication *app,
                 GtkWindow      *window)
{
  if (!TANDEM_IS_WINDOW (window) || bench.win != NULL)
    return;
  bench.window_added = g_get_monotonic_time ();
  bench.win = TANDEM_WINDOW (window);
  g_signal_connect (window, "realize", G_CALLBACK (window_realize_cb), NULL);
  g_signal_connect (window, "map", G_CALLBACK (window_map_cb), NULL);
}

static void
app_startup_cb (GApplication *app)
{
  bench.startup_done = g_get_monotonic_time ();
}

static void
app_activate_cb (GApplication *app)
{
  bench.activate = g_get_monotonic_time ();
}

static int
run_app (void)
{
  g_autofree char *profile_arg = g_strdup_printf ("--profile=%s", bench.profile);
  char *argv[] = { (char *) "tandem", profile_arg, (char *) "--no-discovery", NULL };
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = source ? g_settings_schema_source_lookup (source, "io.github.tandemnotes.Tandem",
                                                                                 TRUE) : NULL;
  int status;

  /* the window's size and notebook as a user left them; with
   * GSETTINGS_BACKEND=memory, only this process sees them */
  if (schema == NULL)
    die ("the GSettings schema io.github.tandemnotes.Tandem is not found: set GSETTINGS_SCHEMA_DIR "
         "to a build's data/ folder");
  {
    g_autoptr(GSettings) settings = g_settings_new_full (schema, NULL, NULL);

    g_settings_set_string (settings, "last-notebook", bench.info.notebook);
  }

  bench.app = tandem_application_new ();
  g_signal_connect (bench.app, "startup", G_CALLBACK (app_startup_cb), NULL);
  g_signal_connect (bench.app, "activate", G_CALLBACK (app_activate_cb), NULL);
  g_signal_connect (bench.app, "window-added", G_CALLBACK (window_added_cb), NULL);
  status = g_application_run (G_APPLICATION (bench.app), G_N_ELEMENTS (argv) - 1, argv);
  if (bench.child != NULL)
    {
      g_output_stream_close (bench.child_in, NULL, NULL);
      g_subprocess_wait (bench.child, NULL, NULL);
    }
  if (bench.remote != NULL)
    remote_free (bench.remote);
  return status;
}

/* The launcher: the clock, then the app in a new process. */
static int
run_startup_launcher (const char *profile)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", &error);
  char t0[32];
  pid_t pid;
  int status;

  if (self_exe == NULL)
    die ("%s", error->message);
  fflush (stdout);
  g_snprintf (t0, sizeof t0, "%" G_GINT64_FORMAT, g_get_monotonic_time ());
  pid = fork ();
  if (pid < 0)
    die ("fork: %s", g_strerror (errno));
  if (pid == 0)
    {
      execl (self_exe, self_exe, "startup-child", profile, t0, (char *) NULL);
      _exit (127);
    }
  if (waitpid (pid, &status, 0) < 0)
    die ("waitpid: %s", g_strerror (errno));
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static void
usage (void)
{
  fputs ("usage: app-bench prepare PROFILE_DIR [--notes N] [--long-kb K]\n"
         "       app-bench startup PROFILE_DIR\n"
         "       app-bench typing PROFILE_DIR [--seconds S] [--rate R] [--remote-in-process]\n"
         "                        [--no-highlight]\n", stderr);
  exit (2);
}

int
main (int   argc,
      char *argv[])
{
  gint64 main_entry = g_get_monotonic_time ();

  if (argc < 3)
    usage ();
  if (g_str_equal (argv[1], "remote") && argc == 6)
    return run_remote (argv[2], argv[3], (guint) g_ascii_strtoull (argv[4], NULL, 10), g_ascii_strtod (argv[5], NULL));
  if (g_str_equal (argv[1], "prepare"))
    {
      guint notes = 1000, long_kb = 100;

      for (int i = 3; i + 1 < argc; i += 2)
        if (g_str_equal (argv[i], "--notes"))
          notes = (guint) g_ascii_strtoull (argv[i + 1], NULL, 10);
        else if (g_str_equal (argv[i], "--long-kb"))
          long_kb = (guint) g_ascii_strtoull (argv[i + 1], NULL, 10);
        else
          usage ();
      if (notes < 2)
        usage ();
      return run_prepare (argv[2], notes, long_kb);
    }
  if (g_str_equal (argv[1], "startup") && argc == 3)
    return run_startup_launcher (argv[2]);

  bench.mode = argv[1];
  bench.profile = g_canonicalize_filename (argv[2], NULL);
  bench.main_entry = main_entry;
  bench.seconds = 10;
  bench.rate = 200;
  if (g_str_equal (argv[1], "startup-child") && argc == 4)
    {
      bench.mode = "startup";
      bench.t0 = g_ascii_strtoll (argv[3], NULL, 10);
    }
  else if (g_str_equal (argv[1], "typing"))
    {
      for (int i = 3; i < argc; i++)
        if (g_str_equal (argv[i], "--remote-in-process"))
          bench.remote_in_process = TRUE;
        else if (g_str_equal (argv[i], "--no-highlight"))
          bench.no_highlight = TRUE;
        else if (g_str_equal (argv[i], "--seconds") && i + 1 < argc)
          bench.seconds = g_ascii_strtod (argv[++i], NULL);
        else if (g_str_equal (argv[i], "--rate") && i + 1 < argc)
          bench.rate = g_ascii_strtod (argv[++i], NULL);
        else
          usage ();
      if (bench.seconds <= 0 || bench.rate <= 0)
        usage ();
    }
  else
    usage ();
  read_info (bench.profile, &bench.info);
  /* a second peer's process that ended is reported, not a SIGPIPE (it
   * ends by itself when this process does: its stdin closes) */
  signal (SIGPIPE, SIG_IGN);
  return run_app ();
}
