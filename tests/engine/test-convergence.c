/* test-convergence.c: the randomized convergence test (ALGORITHM.md §7)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Seeded runs of 2 to 32 peers editing one note through a simulated network
 * that reorders, duplicates, relays and loses messages, with partitions,
 * peers that go offline for long branches, and restarts. Every step a run
 * takes is one of the steps a scenario file has (ins, del, set, unset, add,
 * remove, receive, sync, sync-all, restart; see scenarios/FORMAT.md), so a
 * failing run is replayed as a script, shrunk by delta debugging and written
 * out as a scenario file. (Some syncs go through tandem_note_receive_many(),
 * which a scenario cannot say; shrinking tries plain syncs instead.)
 *
 * Every inserted code point is unique (Plane 15/16 private use), so a
 * character is its own identity; that is what checks C3–C5 rest on. The
 * emoji case runs a second copy of every peer in lockstep whose characters
 * are a fixed, non-injective function of the unique ones (ASCII, combining
 * marks, CJK, emoji with ZWJ and modifiers); it must show exactly the mapped
 * text after every step.
 *
 * Checks (ALGORITHM.md §7):
 *   C1  after heal + sync-all + stale duplicates, every peer has the same
 *       text, version, event count and field reads (lww, manual, set, and
 *       the live writes)
 *   C2  every text equals a fresh replay of that peer's log (also every
 *       REPLAY_EVERY steps), and the union log received by a fresh note in
 *       several orders: whole runs shuffled, random pieces shuffled (with
 *       duplicates, one at a time and in one receive_many), a random causal
 *       order, half and half, and the log order in one receive_many; a
 *       restart must not change anything
 *   C3  final characters = inserted − deleted, no duplicates; a delete's
 *       targets are read from the text before it is made
 *   C4  every text a peer showed, restricted to surviving characters, is in
 *       final order; every local edit shows exactly as made
 *   C5  no character whose causal past lacks the first event of a
 *       multi-character insert or a forward or backward typing run ends up
 *       between the run's first and last surviving characters
 *   C6  re-delivering any runs or pieces changes nothing
 *   C7  causal buffers empty; versions count exactly the events each peer
 *       made; ids follow each peer's sequence
 *   C8  fields equal a model: live writes = writes no other dominates, lww =
 *       max (Lamport, id) of them, manual = their distinct values, set =
 *       adds − observed removes
 *   C9  each field write's Lamport time is one more than the greatest its
 *       writer had seen
 *   and: no valid event or local edit is refused, no crash or hang.
 *
 * Each case runs in a child process, so a crash in the engine is caught,
 * reported with its seed and shrunk like any other failure.
 *
 * Environment:
 *   TANDEM_CONVERGENCE_RUNS        total runs over all cases (default 2000)
 *   TANDEM_CONVERGENCE_SEED        replay one run: CASE:SEED, or SEED for every case
 *                                  (the same as --seed CASE:SEED)
 *   TANDEM_CONVERGENCE_FIRST_SEED  first seed of a normal run (default 0)
 *   TANDEM_CONVERGENCE_SHRINK_SECONDS  time allowed for shrinking (default 120)
 *   TANDEM_CONVERGENCE_RUN_SECONDS     a run taking longer counts as hung (default
 *                                  120, 2400 under valgrind; 0: no limit)
 *   TANDEM_CONVERGENCE_DUMP        with --seed: write a passing run as a scenario
 *                                  too, with the results every peer reached
 * Shrunk scenarios go to $G_TEST_BUILDDIR, or the temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tandem-engine-error.h"
#include "tandem-note.h"

#define MAX_PEERS 32
#define MAX_CHARS (2 * 65534)   /* Plane 15 and 16 private use */
#define OBSERVER_PEER 1         /* the id of fresh notes that only receive */
#define REPLAY_EVERY 64         /* steps between checks against a fresh replay */
#define LONG_LOG 3000           /* events; see check_c2() */
#define RUN_SECONDS 120         /* a run taking longer has hung; see run_seconds() */

/* ---- cases --------------------------------------------------------------- */

typedef enum
{
  CASE_SMALL,
  CASE_EMOJI,
  CASE_CAUSAL,
  CASE_LARGE,
  CASE_OFFLINE,
  N_CASES
} CaseKind;

typedef struct
{
  const char *name;
  double share;           /* of the total number of runs */
  const char *about;
} CaseInfo;

static const CaseInfo cases[N_CASES] = {
  { "small", 0.719, "2-8 peers, 20-400 steps" },
  { "emoji", 0.15, "2-8 peers, real text with emoji and combining marks beside the unique characters" },
  { "causal", 0.05, "2-8 peers, a transport that delivers in causal order and loses nothing" },
  { "32-peers", 0.075, "16 or 32 peers, 50-250 steps" },
  { "offline-branches", 0.006, "2-4 peers, offline branches of up to 2000 local ops" },
};

typedef struct
{
  CaseKind kind;
  guint64 seed;
  guint n;
  guint64 ids[MAX_PEERS];
  guint n_steps;
  gboolean causal;           /* the transport delivers in causal order */
  double loss;               /* share of broadcast messages lost */
  gboolean shadow;
  gboolean branches;
} RunConfig;

/* ---- characters ---------------------------------------------------------- */

typedef enum
{
  MAP_PUA,        /* unique characters from private use planes 15 and 16 */
  MAP_READABLE,   /* unique too, letters and digits first: for shrunk scenarios */
  MAP_REAL,       /* not unique: mixed-width real text */
} CharMap;

static const char ascii_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
#define N_ASCII 62
#define N_READABLE (N_ASCII + 25 + 32)

/* Real text cycles through this; consecutive characters (a paste) make
 * real grapheme clusters, one insert of a single character can split one. */
static const gunichar real_text[] = {
  'H', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n',
  'e', 0x0301, ' ', 0x00E9, ' ',                        /* é decomposed, then precomposed */
  0x1F44D, 0x1F3FD, ' ',                                /* thumbs up, skin tone modifier */
  0x1F468, 0x200D, 0x1F469, 0x200D, 0x1F467, ' ',       /* family: a ZWJ sequence */
  0x2764, 0xFE0F, ' ',                                  /* heart, emoji presentation */
  0x4E2D, 0x6587, ' ',                                  /* 中文 */
  0x0915, 0x093F, ' ',                                  /* कि */
  0x05E9, 0x05DC, 0x05D5, 0x05DD, ' ',                  /* שלום */
  0x1F600, 'a', 0x0308, 'x', '\t', 'n', 0x0303, '!',
};

static gunichar
pua_char (guint32 idx)
{
  return idx < 65534 ? 0xF0000 + idx : 0x100000 + (idx - 65534);
}

static gunichar
map_char (CharMap  map,
          guint32  idx)
{
  switch (map)
    {
    case MAP_READABLE:
      if (idx < N_ASCII)
        return ascii_chars[idx];
      if (idx < N_ASCII + 25)
        return 0x03B1 + (idx - N_ASCII);            /* α … ω */
      if (idx < N_READABLE)
        return 0x0430 + (idx - N_ASCII - 25);       /* а … я */
      return pua_char (idx);
    case MAP_REAL:
      return real_text[idx % G_N_ELEMENTS (real_text)];
    case MAP_PUA:
    default:
      return pua_char (idx);
    }
}

/* The inverse of map_char() for the unique maps. */
static gboolean
unmap_char (CharMap   map,
            gunichar  c,
            guint32  *idx)
{
  if (c >= 0xF0000 && c <= 0xFFFFD)
    {
      *idx = c - 0xF0000;
      return map == MAP_PUA || *idx >= N_READABLE;
    }
  if (c >= 0x100000 && c <= 0x10FFFD)
    {
      *idx = 65534 + (c - 0x100000);
      return TRUE;
    }
  if (map != MAP_READABLE)
    return FALSE;
  if (c > 0 && c < 128 && strchr (ascii_chars, (int) c) != NULL)
    {
      *idx = strchr (ascii_chars, (int) c) - ascii_chars;
      return TRUE;
    }
  if (c >= 0x03B1 && c < 0x03B1 + 25)
    {
      *idx = N_ASCII + (c - 0x03B1);
      return TRUE;
    }
  if (c >= 0x0430 && c < 0x0430 + 32)
    {
      *idx = N_ASCII + 25 + (c - 0x0430);
      return TRUE;
    }
  return FALSE;
}

static char *
chars_to_utf8 (CharMap         map,
               const guint32  *chars,
               guint           n)
{
  GString *s = g_string_sized_new (n * 4 + 1);

  for (guint i = 0; i < n; i++)
    g_string_append_unichar (s, map_char (map, chars[i]));
  return g_string_free (s, FALSE);
}

/* ---- fields -------------------------------------------------------------- */

enum { FIELD_TITLE, FIELD_STATUS, FIELD_TAGS, N_FIELDS };

static const char * const field_names[N_FIELDS] = { "title", "status", "tags" };
static const TandemFieldPolicy field_policies[N_FIELDS] = {
  TANDEM_FIELD_POLICY_LWW, TANDEM_FIELD_POLICY_MANUAL, TANDEM_FIELD_POLICY_SET,
};

#define N_VALUES 8
#define N_ELEMS 5
static const char * const elems[N_ELEMS] = { "home", "work", "urgent", "later", "idea" };

/* Few values, so that concurrent writes of equal values happen too. */
static GVariant *
value_new (guint value)
{
  static const char * const strings[] = { "draft", "review", "done", "x" };
  GVariant *v;

  if (value < 4)
    v = g_variant_new_string (strings[value]);
  else if (value < 6)
    v = g_variant_new_int64 (value == 4 ? 1 : 42);
  else
    v = g_variant_new_boolean (value == 6);
  return g_variant_ref_sink (v);
}

static char *
value_to_string (GVariant *v)
{
  return v ? g_variant_print (v, TRUE) : g_strdup ("unset");
}

/* ---- scripts ------------------------------------------------------------- */

typedef enum
{
  STEP_INS,
  STEP_DEL,
  STEP_SET,
  STEP_UNSET,
  STEP_ADD,
  STEP_REMOVE,
  STEP_RECEIVE,
  STEP_SYNC,
  STEP_RESTART,
  STEP_SYNC_MANY,       /* a sync through tandem_note_receive_many() */
  N_STEP_KINDS
} StepKind;

typedef struct
{
  StepKind kind;
  guint at;
  guint with;           /* STEP_SYNC, STEP_SYNC_MANY */
  guint field;
  guint value;          /* STEP_SET: a value; STEP_ADD, STEP_REMOVE: an element */
  guint pos;
  guint len;            /* STEP_DEL */
  guint op;             /* the op a step makes, or the op STEP_RECEIVE delivers */
  guint n_chars;        /* STEP_INS */
  guint32 *chars;
} Step;

/* What a run did: the steps, then a sync-all, then the tail (stale
 * messages delivered late). */
typedef struct
{
  guint n;
  guint64 ids[MAX_PEERS];
  CharMap map;
  gboolean shadow;
  GArray *main;         /* Step */
  GArray *tail;         /* Step */
} Script;

static void
step_clear (gpointer data)
{
  Step *s = data;

  g_clear_pointer (&s->chars, g_free);
}

static Step
step_copy (const Step *s)
{
  Step out = *s;

  out.chars = s->n_chars ? g_memdup2 (s->chars, s->n_chars * sizeof (guint32)) : NULL;
  return out;
}

static GArray *
steps_new (void)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (Step));

  g_array_set_clear_func (a, step_clear);
  return a;
}

static Script *
script_new (void)
{
  Script *s = g_new0 (Script, 1);

  s->main = steps_new ();
  s->tail = steps_new ();
  return s;
}

static void
script_free (Script *s)
{
  if (s == NULL)
    return;
  g_array_unref (s->main);
  g_array_unref (s->tail);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Script, script_free)

static Script *
script_copy (const Script *s)
{
  Script *out = script_new ();

  out->n = s->n;
  memcpy (out->ids, s->ids, sizeof s->ids);
  out->map = s->map;
  out->shadow = s->shadow;
  for (guint i = 0; i < s->main->len; i++)
    {
      Step c = step_copy (&g_array_index (s->main, Step, i));
      g_array_append_val (out->main, c);
    }
  for (guint i = 0; i < s->tail->len; i++)
    {
      Step c = step_copy (&g_array_index (s->tail, Step, i));
      g_array_append_val (out->tail, c);
    }
  return out;
}

static guint
script_length (const Script *s)
{
  return s->main->len + s->tail->len;
}

static void
step_to_line (const Step *s,
              GString    *out)
{
  g_string_append_printf (out, "S %u %u %u %u %u %u %u %u %u",
                          s->kind, s->at, s->with, s->field, s->value,
                          s->pos, s->len, s->op, s->n_chars);
  for (guint i = 0; i < s->n_chars; i++)
    g_string_append_printf (out, " %u", s->chars[i]);
  g_string_append_c (out, '\n');
}

static gboolean
step_from_line (const char *line,
                Step       *s)
{
  guint v[9];
  char *end;

  memset (s, 0, sizeof *s);
  line += 2;
  for (guint i = 0; i < 9; i++)
    {
      v[i] = g_ascii_strtoull (line, &end, 10);
      if (end == line)
        return FALSE;
      line = end;
    }
  s->kind = v[0];
  s->at = v[1];
  s->with = v[2];
  s->field = v[3];
  s->value = v[4];
  s->pos = v[5];
  s->len = v[6];
  s->op = v[7];
  s->n_chars = v[8];
  if (s->kind >= N_STEP_KINDS)
    return FALSE;
  s->chars = s->n_chars ? g_new (guint32, s->n_chars) : NULL;
  for (guint i = 0; i < s->n_chars; i++)
    {
      s->chars[i] = g_ascii_strtoull (line, &end, 10);
      if (end == line)
        return FALSE;
      line = end;
    }
  return TRUE;
}

/* ---- failures ------------------------------------------------------------ */

/* The exit codes of a child; equal codes mean "the same failure" while
 * shrinking. */
enum
{
  CODE_OK,
  CODE_C1, CODE_C2, CODE_C3, CODE_C4, CODE_C5, CODE_C6, CODE_C7, CODE_C8, CODE_C9,
  CODE_REJECT,      /* a valid event was refused */
  CODE_LOCAL,       /* the engine refused a valid local edit */
  CODE_UNICODE,     /* the real text copy differs from the mapped unique text */
  N_CODES,
  CODE_SIGNAL = 100 /* + the signal number: a crash */
};

static const char * const code_names[N_CODES] = {
  "ok", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "reject", "local", "unicode",
};

static const char * const code_about[N_CODES] = {
  "",
  "C1 convergence: peers differ after the final sync",
  "C2 replay: the text differs from a fresh replay of the log",
  "C3 content: final text is not inserted minus deleted",
  "C4 no reordering: an observed text has surviving characters out of final order",
  "C5 no interleaving: a run is split by a concurrent character",
  "C6 idempotence: re-delivery changed something",
  "C7 causality/bookkeeping: pending, version or log counts are wrong",
  "C8 fields: a field read differs from the model",
  "C9 stamps: a field write carries the wrong Lamport time",
  "a valid event was refused",
  "a valid local edit was refused",
  "the real-text copy differs from the unique-character run",
};

static char *
code_describe (int code)
{
  if (code >= CODE_SIGNAL)
    return g_strdup_printf ("crash (signal %d, %s)", code - CODE_SIGNAL, g_strsignal (code - CODE_SIGNAL));
  if (code > 0 && code < N_CODES)
    return g_strdup (code_names[code]);
  return g_strdup_printf ("code %d", code);
}

/* ---- statistics ---------------------------------------------------------- */

typedef struct
{
  guint64 runs;
  guint64 steps;
  guint64 events;
  guint64 local_ops;
  guint64 field_writes;
  guint64 receives;
  guint64 remote_changes;   /* receives and syncs that changed a text */
  guint64 syncs;
  guint64 restarts;
  guint64 multi_ops;        /* inserts of 2 or more characters */
  guint64 forward_runs;     /* forward typing runs of 2 or more ops */
  guint64 backward_runs;
  guint64 c5_spans;         /* runs with a foreign character inside their span */
  guint64 max_peers;
  guint64 max_steps;
  guint64 max_text;
} Stats;

#define STATS_FORMAT "%" G_GUINT64_FORMAT

static void
stats_add (Stats       *to,
           const Stats *from)
{
  to->runs += from->runs;
  to->steps += from->steps;
  to->events += from->events;
  to->local_ops += from->local_ops;
  to->field_writes += from->field_writes;
  to->receives += from->receives;
  to->remote_changes += from->remote_changes;
  to->syncs += from->syncs;
  to->restarts += from->restarts;
  to->multi_ops += from->multi_ops;
  to->forward_runs += from->forward_runs;
  to->backward_runs += from->backward_runs;
  to->c5_spans += from->c5_spans;
  to->max_peers = MAX (to->max_peers, from->max_peers);
  to->max_steps = MAX (to->max_steps, from->max_steps);
  to->max_text = MAX (to->max_text, from->max_text);
}

/* ---- executing steps ----------------------------------------------------- */

typedef struct
{
  CharMap map;
  TandemNote *notes[MAX_PEERS];
  GPtrArray *op_events;     /* op -> TandemEvent, or NULL when not made */
} World;

typedef struct
{
  gboolean made;
  guint peer;
  StepKind kind;
  TandemEventId id;         /* of the first event */
  guint64 lamport;
  guint field;
  guint value;
  TandemVersionVector *before;  /* field writes: the writer's version before */
  TandemVersionVector *after;   /* the writer's version including the op */
} OpInfo;

typedef struct
{
  guint op;                 /* + 1; 0: never inserted */
  guint offset;             /* in its op */
  gboolean deleted;
} CharInfo;

/* Detects typing runs: inserts by one peer, each on the version right
 * after the previous one (nothing integrated in between), forward (each at
 * the end of the previous) or backward (single characters at one place). */
typedef struct
{
  guint64 total;            /* the peer's version total after its last op; G_MAXUINT64: no run */
  guint pos;
  guint len;
  GArray *forward;
  guint forward_ops;
  GArray *backward;
} Typing;

typedef struct
{
  guint n;
  guint64 ids[MAX_PEERS];
  CharMap map;
  World worlds[2];          /* [1]: the real-text copy */
  guint n_worlds;

  GArray *cur[MAX_PEERS];   /* guint32 char ids: each peer's text as last read */
  gboolean dirty[MAX_PEERS];/* local edits since the last snapshot */
  GPtrArray *snapshots;     /* GArray of guint32: texts observed, for C4 */
  GArray *ops;              /* OpInfo by op */
  GArray *chars;            /* CharInfo by char id */
  GPtrArray *runs;          /* GArray of guint32 char ids, first made first, for C5 */
  Typing typing[MAX_PEERS];
  guint64 made[MAX_PEERS];  /* events each peer made */
  guint step_index;

  int check;                /* the first failure, CODE_OK while none */
  GString *message;
  guint failed_world;

  int stream_fd;            /* effective steps and the report go here, or -1 */
  Stats stats;
} Exec;

static void exec_fail (Exec       *x,
                       int         code,
                       const char *format,
                       ...) G_GNUC_PRINTF (3, 4);

static void
exec_fail (Exec       *x,
           int         code,
           const char *format,
           ...)
{
  va_list args;

  if (x->check != CODE_OK)
    return;
  x->check = code;
  va_start (args, format);
  g_string_append_vprintf (x->message, format, args);
  va_end (args);
}

static char *
peer_name (guint p)
{
  return g_strdup_printf ("p%02u", p);
}

static void
write_all (int         fd,
           const char *data,
           gsize       len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      data += n;
      len -= n;
    }
}

static void
stream_line (Exec       *x,
             const char *line)
{
  if (x->stream_fd >= 0)
    write_all (x->stream_fd, line, strlen (line));
}

static void
event_unref0 (gpointer event)
{
  if (event != NULL)
    tandem_event_unref (event);
}

static void
event_rejected_cb (TandemNote  *note,
                   TandemEvent *event,
                   GError      *error,
                   gpointer     user_data)
{
  Exec *x = user_data;
  g_autofree char *s = tandem_event_to_string (event);

  exec_fail (x, CODE_REJECT, "peer %" G_GINT64_MODIFIER "x dropped %s from its causal buffer: %s",
             tandem_note_get_peer_id (note), s, error->message);
}

static TandemNote *
exec_new_note (Exec    *x,
               guint64  id)
{
  TandemNote *note = tandem_note_new (id);

  for (guint f = 0; f < N_FIELDS; f++)
    tandem_note_set_field_policy (note, field_names[f], field_policies[f]);
  g_signal_connect (note, "event-rejected", G_CALLBACK (event_rejected_cb), x);
  return note;
}

static void
exec_init (Exec         *x,
           guint         n,
           const guint64 *ids,
           CharMap       map,
           gboolean      shadow,
           int           stream_fd)
{
  memset (x, 0, sizeof *x);
  x->n = n;
  memcpy (x->ids, ids, n * sizeof (guint64));
  x->map = map;
  x->n_worlds = shadow ? 2 : 1;
  for (guint w = 0; w < x->n_worlds; w++)
    {
      x->worlds[w].map = w == 0 ? map : MAP_REAL;
      x->worlds[w].op_events = g_ptr_array_new_with_free_func (event_unref0);
      for (guint p = 0; p < n; p++)
        x->worlds[w].notes[p] = exec_new_note (x, ids[p]);
    }
  for (guint p = 0; p < n; p++)
    {
      x->cur[p] = g_array_new (FALSE, FALSE, sizeof (guint32));
      x->typing[p].total = G_MAXUINT64;
      x->typing[p].forward = g_array_new (FALSE, FALSE, sizeof (guint32));
      x->typing[p].backward = g_array_new (FALSE, FALSE, sizeof (guint32));
    }
  x->snapshots = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  x->ops = g_array_new (FALSE, TRUE, sizeof (OpInfo));
  x->chars = g_array_new (FALSE, TRUE, sizeof (CharInfo));
  x->runs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  x->message = g_string_new (NULL);
  x->stream_fd = stream_fd;
  x->stats.runs = 1;
  x->stats.max_peers = n;
}

static void
exec_clear (Exec *x)
{
  for (guint w = 0; w < x->n_worlds; w++)
    {
      for (guint p = 0; p < x->n; p++)
        g_clear_object (&x->worlds[w].notes[p]);
      g_ptr_array_unref (x->worlds[w].op_events);
    }
  for (guint p = 0; p < x->n; p++)
    {
      g_array_unref (x->cur[p]);
      g_array_unref (x->typing[p].forward);
      g_array_unref (x->typing[p].backward);
    }
  for (guint i = 0; i < x->ops->len; i++)
    {
      OpInfo *o = &g_array_index (x->ops, OpInfo, i);

      g_clear_pointer (&o->before, tandem_version_vector_free);
      g_clear_pointer (&o->after, tandem_version_vector_free);
    }
  g_array_unref (x->ops);
  g_array_unref (x->chars);
  g_ptr_array_unref (x->snapshots);
  g_ptr_array_unref (x->runs);
  g_string_free (x->message, TRUE);
}

static OpInfo *
exec_op (Exec  *x,
         guint  op)
{
  if (op >= x->ops->len)
    g_array_set_size (x->ops, op + 1);
  return &g_array_index (x->ops, OpInfo, op);
}

static CharInfo *
exec_char (Exec    *x,
           guint32  idx)
{
  if (idx >= x->chars->len)
    g_array_set_size (x->chars, idx + 1);
  return &g_array_index (x->chars, CharInfo, idx);
}

static TandemEventId
char_event_id (Exec    *x,
               guint32  idx)
{
  CharInfo *c = exec_char (x, idx);
  OpInfo *o = exec_op (x, c->op - 1);
  TandemEventId id = { o->id.peer, o->id.seq + c->offset };

  return id;
}

static void
set_op_event (World       *w,
              guint        op,
              TandemEvent *event)
{
  if (op >= w->op_events->len)
    g_ptr_array_set_size (w->op_events, op + 1);
  event_unref0 (w->op_events->pdata[op]);
  w->op_events->pdata[op] = event;
}

static TandemEvent *
get_op_event (World *w,
              guint  op)
{
  return op < w->op_events->len ? w->op_events->pdata[op] : NULL;
}

static guint64
version_total (TandemNote *note)
{
  return tandem_version_vector_total (tandem_note_get_version (note));
}

/* Reads a peer's text as char ids; NULL (and a failure) when it shows a
 * character that no one inserted. */
static GArray *
exec_read (Exec  *x,
           guint  p)
{
  TandemNote *note = x->worlds[0].notes[p];
  g_autofree char *text = tandem_note_dup_text (note);
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (guint32), tandem_note_get_length (note));

  for (const char *c = text; *c; c = g_utf8_next_char (c))
    {
      gunichar u = g_utf8_get_char (c);
      guint32 idx;

      if (!unmap_char (x->map, u, &idx) || idx >= x->chars->len ||
          g_array_index (x->chars, CharInfo, idx).op == 0)
        {
          exec_fail (x, CODE_C3, "p%02u shows U+%04X at %u, which no one inserted", p, u, out->len);
          g_array_unref (out);
          return NULL;
        }
      g_array_append_val (out, idx);
    }
  if (out->len != tandem_note_get_length (note))
    {
      exec_fail (x, CODE_C3, "p%02u: the text has %u code points, tandem_note_get_length() says %u",
                 p, out->len, tandem_note_get_length (note));
      g_array_unref (out);
      return NULL;
    }
  return out;
}

static gboolean
ids_equal (GArray *a,
           GArray *b)
{
  return a->len == b->len && (a->len == 0 || memcmp (a->data, b->data, a->len * sizeof (guint32)) == 0);
}

static GArray *
ids_copy (GArray *a)
{
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (guint32), a->len);

  g_array_append_vals (out, a->data, a->len);
  return out;
}

/* Readable text of char ids for messages. */
static char *
ids_describe (Exec   *x,
              GArray *ids)
{
  GString *s = g_string_new ("\"");

  for (guint i = 0; i < ids->len && i < 200; i++)
    g_string_append_unichar (s, map_char (x->map, g_array_index (ids, guint32, i)));
  g_string_append (s, ids->len > 200 ? "…\"" : "\"");
  return g_string_free (s, FALSE);
}

/* After a step that changed peer @p (a local edit when @expected is set):
 * checks that a local edit did exactly what it said, keeps the texts C4
 * needs and compares the real-text copy. */
static void
exec_observe (Exec   *x,
              guint   p,
              GArray *expected)
{
  GArray *now;

  if (x->check != CODE_OK)
    return;
  now = exec_read (x, p);
  if (now == NULL)
    return;

  if (expected != NULL)
    {
      if (!ids_equal (now, expected))
        {
          g_autofree char *e = ids_describe (x, expected);
          g_autofree char *g = ids_describe (x, now);

          exec_fail (x, CODE_C4, "a local edit at p%02u did not show as made: expected %s, got %s", p, e, g);
        }
      x->dirty[p] = TRUE;
    }
  else
    {
      gboolean changed = !ids_equal (now, x->cur[p]);

      /* Local edits only insert and delete at their own positions (checked
       * above), so the text before a remote change holds everything the
       * texts between it and the previous snapshot showed. */
      if (x->dirty[p] || changed)
        g_ptr_array_add (x->snapshots, ids_copy (x->cur[p]));
      if (changed)
        g_ptr_array_add (x->snapshots, ids_copy (now));
      x->dirty[p] = FALSE;
    }
  g_array_unref (x->cur[p]);
  x->cur[p] = now;
  x->stats.max_text = MAX (x->stats.max_text, now->len);

  if (x->n_worlds > 1)
    {
      g_autofree char *want = chars_to_utf8 (MAP_REAL, (guint32 *) now->data, now->len);
      g_autofree char *got = tandem_note_dup_text (x->worlds[1].notes[p]);

      if (g_strcmp0 (want, got) != 0)
        {
          exec_fail (x, CODE_UNICODE, "p%02u: the real text is \"%s\", the unique-character run says \"%s\"",
                     p, got, want);
          x->failed_world = 1;
        }
    }

  for (guint w = 0; w < x->n_worlds; w++)
    {
      TandemNote *note = x->worlds[w].notes[p];

      if (version_total (note) != tandem_note_get_n_events (note))
        exec_fail (x, CODE_C7, "p%02u: the version counts %" G_GUINT64_FORMAT " events, the log %u",
                   p, version_total (note), tandem_note_get_n_events (note));
    }
}

static void
exec_add_run (Exec   *x,
              GArray *chars)
{
  g_ptr_array_add (x->runs, ids_copy (chars));
}

static void
typing_flush (Exec   *x,
              Typing *t)
{
  if (t->forward->len >= 2 && t->forward_ops >= 2)
    {
      exec_add_run (x, t->forward);
      x->stats.forward_runs++;
    }
  if (t->backward->len >= 2)
    {
      exec_add_run (x, t->backward);
      x->stats.backward_runs++;
    }
  g_array_set_size (t->forward, 0);
  g_array_set_size (t->backward, 0);
  t->forward_ops = 0;
  t->total = G_MAXUINT64;
}

static void
typing_insert (Exec          *x,
               Typing        *t,
               guint64        total_before,
               guint64        total_after,
               guint          pos,
               const guint32 *chars,
               guint          n)
{
  gboolean chained = t->total == total_before;

  if (chained && pos == t->pos + t->len)
    t->forward_ops++;
  else
    {
      if (t->forward->len >= 2 && t->forward_ops >= 2)
        {
          exec_add_run (x, t->forward);
          x->stats.forward_runs++;
        }
      g_array_set_size (t->forward, 0);
      t->forward_ops = 1;
    }
  g_array_append_vals (t->forward, chars, n);

  if (!(chained && n == 1 && t->len == 1 && pos == t->pos))
    {
      if (t->backward->len >= 2)
        {
          exec_add_run (x, t->backward);
          x->stats.backward_runs++;
        }
      g_array_set_size (t->backward, 0);
    }
  if (n == 1)
    g_array_append_vals (t->backward, chars, n);

  t->pos = pos;
  t->len = n;
  t->total = total_after;
}

static gboolean
deliver_all (TandemNote  *to,
             GPtrArray   *events,
             GError     **error)
{
  for (guint i = 0; i < events->len; i++)
    if (!tandem_note_receive (to, g_ptr_array_index (events, i), error))
      return FALSE;
  return TRUE;
}

/* The same exchange as a scenario's "sync": both send what the other lacks
 * until neither lacks anything. */
static gboolean
sync_pair (TandemNote  *a,
           TandemNote  *b,
           GError     **error)
{
  for (guint round = 0; ; round++)
    {
      g_autoptr(GPtrArray) to_b = tandem_note_dup_events_since (a, tandem_note_get_version (b));
      g_autoptr(GPtrArray) to_a = tandem_note_dup_events_since (b, tandem_note_get_version (a));

      if (to_a->len == 0 && to_b->len == 0)
        return TRUE;
      if (round > 1000)
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_FAILED, "sync does not finish");
          return FALSE;
        }
      if (!deliver_all (b, to_b, error) || !deliver_all (a, to_a, error))
        return FALSE;
    }
}

/* Like sync_pair(), the way a peer catching up takes a batch. */
static gboolean
sync_pair_many (TandemNote  *a,
                TandemNote  *b,
                GError     **error)
{
  for (guint round = 0; ; round++)
    {
      g_autoptr(GPtrArray) to_b = tandem_note_dup_events_since (a, tandem_note_get_version (b));
      g_autoptr(GPtrArray) to_a = tandem_note_dup_events_since (b, tandem_note_get_version (a));
      g_autoptr(GPtrArray) errors_b = NULL;
      g_autoptr(GPtrArray) errors_a = NULL;

      if (to_a->len == 0 && to_b->len == 0)
        return TRUE;
      if (round > 1000)
        {
          g_set_error (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_FAILED, "sync does not finish");
          return FALSE;
        }
      if (!tandem_note_receive_many (b, to_b, &errors_b) || !tandem_note_receive_many (a, to_a, &errors_a))
        {
          GPtrArray *errors = errors_a ? errors_a : errors_b;

          if (errors != NULL && errors->len > 0)
            g_propagate_error (error, g_error_copy (g_ptr_array_index (errors, 0)));
          else
            g_set_error_literal (error, TANDEM_ENGINE_ERROR, TANDEM_ENGINE_ERROR_FAILED, "refused");
          return FALSE;
        }
    }
}

/* The same as a scenario's "sync-all". */
static gboolean
sync_all (TandemNote **notes,
          guint        n,
          GError     **error)
{
  gboolean changed = TRUE;

  while (changed)
    {
      changed = FALSE;
      for (guint i = 0; i < n; i++)
        for (guint j = i + 1; j < n; j++)
          {
            g_autoptr(TandemVersionVector) va = tandem_version_vector_copy (tandem_note_get_version (notes[i]));
            g_autoptr(TandemVersionVector) vb = tandem_version_vector_copy (tandem_note_get_version (notes[j]));

            if (!sync_pair (notes[i], notes[j], error))
              return FALSE;
            changed |= !tandem_version_vector_equal (va, tandem_note_get_version (notes[i])) ||
                       !tandem_version_vector_equal (vb, tandem_note_get_version (notes[j]));
          }
    }
  return TRUE;
}

static void
append_live_ids (GString   *s,
                 GPtrArray *live)
{
  g_string_append (s, " live=[");
  for (guint i = 0; live && i < live->len; i++)
    {
      TandemFieldWrite *w = g_ptr_array_index (live, i);

      g_string_append_printf (s, "%s%" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT "@%" G_GUINT64_FORMAT,
                              i ? " " : "", w->id.peer, w->id.seq, w->lamport);
    }
  g_string_append_c (s, ']');
}

/* Every field read, for comparing peers. */
static char *
fields_digest (TandemNote *note)
{
  GString *s = g_string_new (NULL);

  for (guint f = 0; f < N_FIELDS; f++)
    {
      if (field_policies[f] == TANDEM_FIELD_POLICY_SET)
        {
          g_autoptr(GPtrArray) set = tandem_note_dup_set (note, field_names[f]);

          g_string_append_printf (s, "%s: set=[", field_names[f]);
          for (guint i = 0; i < set->len; i++)
            g_string_append_printf (s, "%s%s", i ? " " : "", (char *) g_ptr_array_index (set, i));
          g_string_append (s, "]; ");
        }
      else
        {
          g_autoptr(GVariant) v = tandem_note_dup_field (note, field_names[f]);
          g_autoptr(GPtrArray) values = tandem_note_dup_field_values (note, field_names[f]);
          g_autofree char *lww = value_to_string (v);

          g_string_append_printf (s, "%s: lww=%s manual=[", field_names[f], lww);
          for (guint i = 0; i < values->len; i++)
            {
              g_autofree char *one = value_to_string (g_ptr_array_index (values, i));

              g_string_append_printf (s, "%s%s", i ? " " : "", one);
            }
          g_string_append_c (s, ']');
          append_live_ids (s, tandem_field_table_get_live (tandem_note_get_fields (note), field_names[f]));
          g_string_append (s, "; ");
        }
    }
  return g_string_free (s, FALSE);
}

static void
exec_restart (Exec  *x,
              guint  p)
{
  for (guint w = 0; w < x->n_worlds && x->check == CODE_OK; w++)
    {
      TandemNote *old = x->worlds[w].notes[p];
      g_autoptr(GPtrArray) events = tandem_note_dup_events_since (old, NULL);
      g_autoptr(GPtrArray) pending = tandem_note_dup_pending (old);
      TandemNote *fresh = exec_new_note (x, tandem_note_get_peer_id (old));
      g_autoptr(GError) error = NULL;
      g_autofree char *text_before = tandem_note_dup_text (old);
      g_autofree char *fields_before = fields_digest (old);
      g_autofree char *text_after = NULL;
      g_autofree char *fields_after = NULL;

      if (!deliver_all (fresh, events, &error) || !deliver_all (fresh, pending, &error))
        exec_fail (x, CODE_REJECT, "restarting p%02u: %s", p, error->message);
      text_after = tandem_note_dup_text (fresh);
      fields_after = fields_digest (fresh);
      if (g_strcmp0 (text_before, text_after) != 0)
        exec_fail (x, CODE_C2, "restarting p%02u changed its text from \"%s\" to \"%s\"",
                   p, text_before, text_after);
      else if (!tandem_version_vector_equal (tandem_note_get_version (old), tandem_note_get_version (fresh)))
        exec_fail (x, CODE_C7, "restarting p%02u changed its version", p);
      else if (tandem_note_get_n_pending (old) != tandem_note_get_n_pending (fresh))
        exec_fail (x, CODE_C7, "restarting p%02u changed its causal buffer from %u to %u runs", p,
                   tandem_note_get_n_pending (old), tandem_note_get_n_pending (fresh));
      else if (g_strcmp0 (fields_before, fields_after) != 0)
        exec_fail (x, CODE_C8, "restarting p%02u changed its fields from %s to %s", p, fields_before, fields_after);
      if (x->check != CODE_OK)
        x->failed_world = w;
      g_object_unref (old);
      x->worlds[w].notes[p] = fresh;
    }
}

static void
exec_field_write (Exec       *x,
                  const Step *s)
{
  guint p = s->at;
  OpInfo *o;
  TandemEvent *made;
  g_autoptr(TandemVersionVector) before = tandem_version_vector_copy (tandem_note_get_version (x->worlds[0].notes[p]));
  guint64 lamport = 0;

  for (guint w = 0; w < x->n_worlds; w++)
    {
      TandemNote *note = x->worlds[w].notes[p];
      const char *field = field_names[s->field];
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = s->kind == STEP_SET ? value_new (s->value) : NULL;
      TandemEvent *event = NULL;

      switch (s->kind)
        {
        case STEP_SET:
        case STEP_UNSET:
          event = tandem_note_set_field (note, field, value, &error);
          break;
        case STEP_ADD:
          event = tandem_note_add_to_set (note, field, elems[s->value], &error);
          break;
        case STEP_REMOVE:
          event = tandem_note_remove_from_set (note, field, elems[s->value], &error);
          break;
        default:
          g_assert_not_reached ();
        }
      if (event == NULL)
        {
          exec_fail (x, CODE_LOCAL, "p%02u could not write %s: %s", p, field, error->message);
          return;
        }
      set_op_event (&x->worlds[w], s->op, event);
    }

  /* C9: one more than the greatest Lamport time the writer has seen */
  for (guint i = 0; i < x->ops->len; i++)
    {
      OpInfo *other = &g_array_index (x->ops, OpInfo, i);

      if (other->made && other->before != NULL && tandem_version_vector_contains (before, &other->id))
        lamport = MAX (lamport, other->lamport);
    }

  made = get_op_event (&x->worlds[0], s->op);
  o = exec_op (x, s->op);
  o->made = TRUE;
  o->peer = p;
  o->kind = s->kind;
  o->field = s->field;
  o->value = s->value;
  o->id.peer = made->peer;
  o->id.seq = made->seq;
  o->lamport = made->lamport;
  o->before = g_steal_pointer (&before);
  o->after = tandem_version_vector_copy (tandem_note_get_version (x->worlds[0].notes[p]));

  if (o->lamport != lamport + 1)
    exec_fail (x, CODE_C9, "p%02u wrote %s with Lamport time %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
               p, field_names[s->field], o->lamport, lamport + 1);
  if (o->id.peer != x->ids[p] || o->id.seq != x->made[p])
    exec_fail (x, CODE_C7, "p%02u's field write has id %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT
               ", expected seq %" G_GUINT64_FORMAT, p, o->id.peer, o->id.seq, x->made[p]);
  x->made[p]++;
  x->stats.field_writes++;
}

/* Runs one step, clamped to the peer's current text so that a shrunk
 * script stays valid. Streams the step as run before running it, so that a
 * crash leaves the script that led to it. */
static void
exec_step (Exec       *x,
           const Step *step)
{
  Step s = *step;
  guint p = s.at;

  if (x->check != CODE_OK || p >= x->n)
    return;

  /* clamp, or leave out a step that does nothing */
  switch (s.kind)
    {
    case STEP_INS:
      if (s.n_chars == 0)
        return;
      for (guint i = 0; i < s.n_chars; i++)
        if (s.chars[i] >= MAX_CHARS || exec_char (x, s.chars[i])->op != 0)
          return;
      s.pos = MIN (s.pos, x->cur[p]->len);
      break;
    case STEP_DEL:
      if (x->cur[p]->len == 0 || s.len == 0)
        return;
      s.pos = MIN (s.pos, x->cur[p]->len - 1);
      s.len = MIN (s.len, x->cur[p]->len - s.pos);
      break;
    case STEP_SET:
    case STEP_UNSET:
      if (s.field >= N_FIELDS || field_policies[s.field] == TANDEM_FIELD_POLICY_SET || s.value >= N_VALUES)
        return;
      break;
    case STEP_ADD:
    case STEP_REMOVE:
      if (s.field >= N_FIELDS || field_policies[s.field] != TANDEM_FIELD_POLICY_SET || s.value >= N_ELEMS)
        return;
      break;
    case STEP_RECEIVE:
      if (get_op_event (&x->worlds[0], s.op) == NULL)
        return;
      break;
    case STEP_SYNC:
    case STEP_SYNC_MANY:
      if (s.with >= x->n || s.with == p)
        return;
      break;
    case STEP_RESTART:
    default:
      break;
    }
  if (s.kind <= STEP_REMOVE && exec_op (x, s.op)->made)
    return;

  if (x->stream_fd >= 0)
    {
      g_autoptr(GString) line = g_string_new (NULL);

      step_to_line (&s, line);
      stream_line (x, line->str);
    }
  x->step_index++;
  x->stats.steps++;
  x->stats.max_steps = MAX (x->stats.max_steps, x->step_index);

  switch (s.kind)
    {
    case STEP_INS:
    case STEP_DEL:
      {
        guint64 total = version_total (x->worlds[0].notes[p]);
        g_autoptr(GArray) expected = ids_copy (x->cur[p]);
        OpInfo *o;
        TandemEvent *event;

        for (guint w = 0; w < x->n_worlds; w++)
          {
            g_autoptr(GError) error = NULL;

            if (s.kind == STEP_INS)
              {
                g_autofree char *text = chars_to_utf8 (x->worlds[w].map, s.chars, s.n_chars);

                event = tandem_note_insert (x->worlds[w].notes[p], s.pos, text, &error);
              }
            else
              event = tandem_note_delete (x->worlds[w].notes[p], s.pos, s.len, &error);
            if (event == NULL)
              {
                exec_fail (x, CODE_LOCAL, "p%02u could not %s at %u: %s", p,
                           s.kind == STEP_INS ? "insert" : "delete", s.pos, error->message);
                return;
              }
            set_op_event (&x->worlds[w], s.op, event);
          }
        event = get_op_event (&x->worlds[0], s.op);

        o = exec_op (x, s.op);
        o->made = TRUE;
        o->peer = p;
        o->kind = s.kind;
        o->id.peer = event->peer;
        o->id.seq = event->seq;
        o->after = tandem_version_vector_copy (tandem_note_get_version (x->worlds[0].notes[p]));
        if (event->peer != x->ids[p] || event->seq != x->made[p])
          exec_fail (x, CODE_C7, "p%02u's edit has id %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT
                     ", expected seq %" G_GUINT64_FORMAT, p, event->peer, event->seq, x->made[p]);

        if (s.kind == STEP_INS)
          {
            for (guint i = 0; i < s.n_chars; i++)
              {
                CharInfo *c = exec_char (x, s.chars[i]);

                c->op = s.op + 1;
                c->offset = i;
              }
            g_array_insert_vals (expected, s.pos, s.chars, s.n_chars);
            x->made[p] += s.n_chars;
            if (s.n_chars >= 2)
              {
                g_autoptr(GArray) run = g_array_new (FALSE, FALSE, sizeof (guint32));

                g_array_append_vals (run, s.chars, s.n_chars);
                exec_add_run (x, run);
                x->stats.multi_ops++;
              }
            typing_insert (x, &x->typing[p], total, version_total (x->worlds[0].notes[p]),
                           s.pos, s.chars, s.n_chars);
          }
        else
          {
            /* C3: what this delete removes, read before it does */
            for (guint i = 0; i < s.len; i++)
              exec_char (x, g_array_index (x->cur[p], guint32, s.pos + i))->deleted = TRUE;
            g_array_remove_range (expected, s.pos, s.len);
            x->made[p] += s.len;
            typing_flush (x, &x->typing[p]);
          }
        x->stats.local_ops++;
        exec_observe (x, p, expected);
      }
      break;

    case STEP_SET:
    case STEP_UNSET:
    case STEP_ADD:
    case STEP_REMOVE:
      {
        g_autoptr(GArray) expected = ids_copy (x->cur[p]);

        exec_field_write (x, &s);
        typing_flush (x, &x->typing[p]);
        x->stats.local_ops++;
        exec_observe (x, p, expected);
      }
      break;

    case STEP_RECEIVE:
      {
        g_autoptr(GArray) before = ids_copy (x->cur[p]);

        for (guint w = 0; w < x->n_worlds; w++)
          {
            g_autoptr(GError) error = NULL;
            TandemEvent *event = get_op_event (&x->worlds[w], s.op);

            if (!tandem_note_receive (x->worlds[w].notes[p], event, &error))
              {
                g_autofree char *e = tandem_event_to_string (event);

                exec_fail (x, CODE_REJECT, "p%02u refused %s: %s", p, e, error->message);
                x->failed_world = w;
              }
          }
        x->stats.receives++;
        exec_observe (x, p, NULL);
        if (x->check == CODE_OK && !ids_equal (before, x->cur[p]))
          x->stats.remote_changes++;
      }
      break;

    case STEP_SYNC:
    case STEP_SYNC_MANY:
      for (guint w = 0; w < x->n_worlds; w++)
        {
          g_autoptr(GError) error = NULL;

          if (!(s.kind == STEP_SYNC ? sync_pair : sync_pair_many) (x->worlds[w].notes[p],
                                                                    x->worlds[w].notes[s.with], &error))
            {
              exec_fail (x, CODE_REJECT, "sync of p%02u and p%02u: %s", p, s.with, error->message);
              x->failed_world = w;
            }
        }
      x->stats.syncs++;
      exec_observe (x, p, NULL);
      exec_observe (x, s.with, NULL);
      break;

    case STEP_RESTART:
      exec_restart (x, p);
      x->stats.restarts++;
      exec_observe (x, p, NULL);
      break;

    default:
      g_assert_not_reached ();
    }

  /* now and then, the text against a fresh replay of the peer's own log;
   * less often for long logs, where a replay one run at a time costs more */
  if (x->check == CODE_OK &&
      x->step_index % (REPLAY_EVERY * (1 + tandem_note_get_n_events (x->worlds[0].notes[p]) / 256)) == 0)
    for (guint w = 0; w < x->n_worlds; w++)
      {
        g_autofree char *text = tandem_note_dup_text (x->worlds[w].notes[p]);
        g_autofree char *replay = tandem_note_dup_text_by_replay (x->worlds[w].notes[p]);

        if (g_strcmp0 (text, replay) != 0)
          {
            exec_fail (x, CODE_C2, "at step %u, p%02u shows \"%s\", a fresh replay of its log \"%s\"",
                       x->step_index, p, text, replay ? replay : "(refused)");
            x->failed_world = w;
          }
      }
}

/* The final sync-all, after which the tail runs. */
static void
exec_begin_tail (Exec *x)
{
  if (x->check != CODE_OK)
    return;
  stream_line (x, "T\n");
  for (guint w = 0; w < x->n_worlds; w++)
    {
      g_autoptr(GError) error = NULL;

      if (!sync_all (x->worlds[w].notes, x->n, &error))
        {
          exec_fail (x, CODE_REJECT, "sync-all: %s", error->message);
          x->failed_world = w;
        }
    }
  for (guint p = 0; p < x->n; p++)
    exec_observe (x, p, NULL);
}

/* ---- checks at quiescence ------------------------------------------------ */

static void
check_c7 (Exec *x)
{
  for (guint w = 0; w < x->n_worlds && x->check == CODE_OK; w++)
    for (guint p = 0; p < x->n && x->check == CODE_OK; p++)
      {
        TandemNote *note = x->worlds[w].notes[p];
        const TandemVersionVector *vv = tandem_note_get_version (note);
        guint n_made = 0;

        x->failed_world = w;
        if (tandem_note_get_n_pending (note) != 0)
          exec_fail (x, CODE_C7, "p%02u still holds %u runs in its causal buffer",
                     p, tandem_note_get_n_pending (note));
        for (guint q = 0; q < x->n; q++)
          {
            if (tandem_version_vector_get (vv, x->ids[q]) != x->made[q])
              exec_fail (x, CODE_C7, "p%02u has %" G_GUINT64_FORMAT " events of p%02u, which made %" G_GUINT64_FORMAT,
                         p, tandem_version_vector_get (vv, x->ids[q]), q, x->made[q]);
            n_made += x->made[q] > 0;
          }
        if (tandem_version_vector_get_size (vv) != n_made)
          exec_fail (x, CODE_C7, "p%02u's version has %u peers, %u made events",
                     p, tandem_version_vector_get_size (vv), n_made);
        if (version_total (note) != tandem_note_get_n_events (note))
          exec_fail (x, CODE_C7, "p%02u: the version counts %" G_GUINT64_FORMAT " events, the log %u",
                     p, version_total (note), tandem_note_get_n_events (note));
      }
  if (x->check == CODE_OK)
    x->failed_world = 0;
}

static int
compare_id_pointers (gconstpointer a,
                     gconstpointer b)
{
  return tandem_event_id_compare (*(const TandemEventId * const *) a, *(const TandemEventId * const *) b);
}

static char *
frontier_string (TandemNote *note)
{
  g_autoptr(GPtrArray) heads = tandem_note_dup_frontier (note);
  GString *s = g_string_new ("{");

  g_ptr_array_sort (heads, compare_id_pointers);
  for (guint i = 0; i < heads->len; i++)
    {
      TandemEventId *id = g_ptr_array_index (heads, i);

      g_string_append_printf (s, "%s%" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT, i ? " " : "", id->peer, id->seq);
    }
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

static void
check_c1 (Exec *x)
{
  for (guint w = 0; w < x->n_worlds && x->check == CODE_OK; w++)
    {
      TandemNote *first = x->worlds[w].notes[0];
      g_autofree char *text0 = tandem_note_dup_text (first);
      g_autofree char *fields0 = fields_digest (first);

      for (guint p = 1; p < x->n && x->check == CODE_OK; p++)
        {
          TandemNote *note = x->worlds[w].notes[p];
          g_autofree char *text = tandem_note_dup_text (note);
          g_autofree char *fields = fields_digest (note);

          x->failed_world = w;
          if (g_strcmp0 (text, text0) != 0)
            exec_fail (x, CODE_C1, "p00 and p%02u differ: \"%s\" and \"%s\"", p, text0, text);
          else if (!tandem_version_vector_equal (tandem_note_get_version (first), tandem_note_get_version (note)))
            {
              g_autofree char *a = tandem_version_vector_to_string (tandem_note_get_version (first));
              g_autofree char *b = tandem_version_vector_to_string (tandem_note_get_version (note));

              exec_fail (x, CODE_C1, "p00 and p%02u have different versions: %s and %s", p, a, b);
            }
          else if (tandem_note_get_n_events (first) != tandem_note_get_n_events (note))
            exec_fail (x, CODE_C1, "p00 and p%02u have %u and %u events", p,
                       tandem_note_get_n_events (first), tandem_note_get_n_events (note));
          else if (g_strcmp0 (fields, fields0) != 0)
            exec_fail (x, CODE_C1, "p00 and p%02u read the fields differently: %s and %s", p, fields0, fields);
          else
            {
              g_autofree char *heads0 = frontier_string (first);
              g_autofree char *heads = frontier_string (note);

              if (g_strcmp0 (heads, heads0) != 0)
                exec_fail (x, CODE_C1, "p00 and p%02u have different frontiers: %s and %s", p, heads0, heads);
            }
        }
    }
  if (x->check == CODE_OK)
    x->failed_world = 0;
}

/* Shuffles within windows of @window elements (0: the whole array). */
static void
shuffle_window (GPtrArray *a,
                GRand     *rand,
                guint      window)
{
  if (window == 0)
    window = a->len;
  for (guint start = 0; start < a->len; start += window)
    for (guint k = MIN (window, a->len - start); k > 1; k--)
      {
        guint j = start + g_rand_int_range (rand, 0, k);
        gpointer t = a->pdata[start + k - 1];

        a->pdata[start + k - 1] = a->pdata[j];
        a->pdata[j] = t;
      }
}

static void
shuffle (GPtrArray *a,
         GRand     *rand)
{
  shuffle_window (a, rand, 0);
}

/* Every run cut into random pieces, some twice. */
static GPtrArray *
cut_into_pieces (GPtrArray *events,
                 GRand     *rand)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);

  for (guint i = 0; i < events->len; i++)
    {
      TandemEvent *e = g_ptr_array_index (events, i);
      guint32 offset = 0;

      if (e->kind == TANDEM_OP_FIELD || e->len == 1)
        g_ptr_array_add (out, tandem_event_ref (e));
      else
        while (offset < e->len)
          {
            guint32 n = g_rand_int_range (rand, 1, e->len - offset + 1);

            g_ptr_array_add (out, tandem_event_slice (e, offset, n));
            offset += n;
          }
      if (g_rand_int_range (rand, 0, 5) == 0)
        g_ptr_array_add (out, tandem_event_ref (g_ptr_array_index (out, g_rand_int_range (rand, 0, out->len))));
    }
  return out;
}

typedef enum
{
  ORDER_SHUFFLED_RUNS,      /* whole runs, random order, one at a time */
  ORDER_SHUFFLED_PIECES,    /* random pieces, random order, one at a time */
  ORDER_MANY_PIECES,        /* random pieces, random order, in one receive_many */
  ORDER_MANY_LOG,           /* the log in order, in one receive_many */
  ORDER_HALF_AND_HALF,      /* a random half one at a time, then the rest at once */
  ORDER_TOPO_PIECES,        /* random pieces in a random causal order, one at a time */
  ORDER_MANY_TOPO,          /* random pieces in a random causal order, in one receive_many */
  N_ORDERS
} Order;

static const char * const order_names[N_ORDERS] = {
  "whole runs in random order", "random pieces in random order",
  "random pieces in one receive_many", "the log in one receive_many",
  "half one by one, the rest in one receive_many",
  "random pieces in a random causal order", "random pieces in a random causal order in one receive_many",
};

/* Each peer's events form a chain, so the events that can come next in a
 * causal order are among the first undelivered piece of each peer. */
static GPtrArray *
random_causal_order (GPtrArray *events,
                     GRand     *rand)
{
  g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  g_autoptr(GHashTable) chains = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                        (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GPtrArray) heads = g_ptr_array_new ();
  g_autoptr(TandemVersionVector) have = tandem_version_vector_new ();
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
  GHashTableIter iter;
  gpointer chain;

  /* pieces, without duplicates, in log order: each chain comes out sorted */
  for (guint i = 0; i < events->len; i++)
    {
      TandemEvent *e = g_ptr_array_index (events, i);
      guint32 offset = 0;

      if (e->kind == TANDEM_OP_FIELD || e->len == 1)
        g_ptr_array_add (pieces, tandem_event_ref (e));
      else
        while (offset < e->len)
          {
            guint32 n = g_rand_int_range (rand, 1, e->len - offset + 1);

            g_ptr_array_add (pieces, tandem_event_slice (e, offset, n));
            offset += n;
          }
    }
  for (guint i = 0; i < pieces->len; i++)
    {
      TandemEvent *e = g_ptr_array_index (pieces, i);
      GPtrArray *c = g_hash_table_lookup (chains, &e->peer);

      if (c == NULL)
        {
          c = g_ptr_array_new ();
          g_hash_table_insert (chains, &e->peer, c);
          g_ptr_array_add (heads, c);
        }
      g_ptr_array_add (c, e);
    }
  g_hash_table_iter_init (&iter, chains);
  while (g_hash_table_iter_next (&iter, NULL, &chain))
    {
      GPtrArray *c = chain;

      /* next piece at the end */
      for (guint i = 0; i < c->len / 2; i++)
        {
          gpointer t = c->pdata[i];

          c->pdata[i] = c->pdata[c->len - 1 - i];
          c->pdata[c->len - 1 - i] = t;
        }
    }

  while (out->len < pieces->len)
    {
      g_autoptr(GPtrArray) ready = g_ptr_array_new ();
      GPtrArray *c;
      TandemEvent *e;

      for (guint i = 0; i < heads->len; i++)
        {
          gboolean ok = TRUE;

          c = g_ptr_array_index (heads, i);
          if (c->len == 0)
            continue;
          e = g_ptr_array_index (c, c->len - 1);
          for (guint k = 0; k < e->n_parents && ok; k++)
            ok = tandem_version_vector_contains (have, &e->parents[k]);
          if (ok)
            g_ptr_array_add (ready, c);
        }
      g_assert (ready->len > 0);
      c = g_ptr_array_index (ready, g_rand_int_range (rand, 0, ready->len));
      e = g_ptr_array_steal_index (c, c->len - 1);
      tandem_version_vector_set (have, e->peer, e->seq + e->len);
      g_ptr_array_add (out, tandem_event_ref (e));
    }
  return out;
}

/* C2: the union log delivered to a fresh note in some order must give
 * the same text, version and fields. */
static void
check_union_order (Exec      *x,
                   guint      w,
                   GPtrArray *all,
                   Order      order,
                   guint      window,
                   GRand     *rand)
{
  TandemNote *ref = x->worlds[w].notes[0];
  g_autoptr(TandemNote) fresh = exec_new_note (x, OBSERVER_PEER);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *want = tandem_note_dup_text (ref);
  g_autofree char *fields = NULL;
  g_autofree char *want_fields = fields_digest (ref);
  gboolean ok = TRUE;

  switch (order)
    {
    case ORDER_SHUFFLED_RUNS:
      list = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_event_unref);
      for (guint i = 0; i < all->len; i++)
        g_ptr_array_add (list, tandem_event_ref (g_ptr_array_index (all, i)));
      shuffle (list, rand);
      ok = deliver_all (fresh, list, &error);
      break;
    case ORDER_SHUFFLED_PIECES:
      list = cut_into_pieces (all, rand);
      shuffle_window (list, rand, window);
      ok = deliver_all (fresh, list, &error);
      break;
    case ORDER_MANY_PIECES:
      list = cut_into_pieces (all, rand);
      shuffle_window (list, rand, window);
      ok = tandem_note_receive_many (fresh, list, &errors);
      break;
    case ORDER_MANY_LOG:
      ok = tandem_note_receive_many (fresh, all, &errors);
      break;
    case ORDER_TOPO_PIECES:
      list = random_causal_order (all, rand);
      ok = deliver_all (fresh, list, &error);
      break;
    case ORDER_MANY_TOPO:
      list = random_causal_order (all, rand);
      ok = tandem_note_receive_many (fresh, list, &errors);
      break;
    case ORDER_HALF_AND_HALF:
      {
        g_autoptr(GPtrArray) rest = g_ptr_array_new ();

        list = cut_into_pieces (all, rand);
        shuffle (list, rand);
        for (guint i = 0; i < list->len && ok; i++)
          if (g_rand_boolean (rand))
            ok = tandem_note_receive (fresh, g_ptr_array_index (list, i), &error);
          else
            g_ptr_array_add (rest, g_ptr_array_index (list, i));
        if (ok)
          ok = tandem_note_receive_many (fresh, rest, &errors);
      }
      break;
    default:
      g_assert_not_reached ();
    }

  x->failed_world = w;
  if (!ok)
    {
      const GError *e = error ? error : errors && errors->len ? g_ptr_array_index (errors, 0) : NULL;

      exec_fail (x, CODE_REJECT, "receiving the union log (%s): %s", order_names[order],
                 e ? e->message : "refused");
      return;
    }
  text = tandem_note_dup_text (fresh);
  fields = fields_digest (fresh);
  if (g_strcmp0 (text, want) != 0)
    exec_fail (x, CODE_C2, "the union log, as %s, gives \"%s\"; the peers have \"%s\"",
               order_names[order], text, want);
  else if (!tandem_version_vector_equal (tandem_note_get_version (fresh), tandem_note_get_version (ref)))
    exec_fail (x, CODE_C7, "the union log, as %s, gives another version", order_names[order]);
  else if (tandem_note_get_n_pending (fresh) != 0)
    exec_fail (x, CODE_C7, "the union log, as %s, leaves %u runs in the causal buffer",
               order_names[order], tandem_note_get_n_pending (fresh));
  else if (g_strcmp0 (fields, want_fields) != 0)
    exec_fail (x, CODE_C8, "the union log, as %s, reads the fields as %s; the peers as %s",
               order_names[order], fields, want_fields);
  if (x->check == CODE_OK)
    x->failed_world = 0;
}

static void
check_c2 (Exec  *x,
          GRand *rand)
{
  for (guint w = 0; w < x->n_worlds && x->check == CODE_OK; w++)
    {
      g_autoptr(GPtrArray) all = tandem_note_dup_events_since (x->worlds[w].notes[0], NULL);
      /* Integrating a long concurrent branch one run at a time costs time
       * quadratic in its length, so long logs get fewer such replays, and
       * their shuffles only reorder runs close to each other in the log. */
      gboolean long_log = tandem_note_get_n_events (x->worlds[w].notes[0]) > LONG_LOG;
      guint n_replays = w > 0 || long_log ? 1 : MIN (x->n, 8);

      /* each peer's log is its own topological order */
      for (guint k = 0; k < n_replays && x->check == CODE_OK; k++)
        {
          guint p = k * x->n / n_replays;
          g_autofree char *text = tandem_note_dup_text (x->worlds[w].notes[p]);
          g_autofree char *replay = tandem_note_dup_text_by_replay (x->worlds[w].notes[p]);

          x->failed_world = w;
          if (g_strcmp0 (text, replay) != 0)
            exec_fail (x, CODE_C2, "p%02u shows \"%s\", a fresh replay of its log \"%s\"",
                       p, text, replay ? replay : "(refused)");
        }
      for (Order order = 0; order < N_ORDERS && x->check == CODE_OK; order++)
        {
          gboolean cheap = order == ORDER_MANY_LOG || order == ORDER_MANY_TOPO ||
                           order == ORDER_SHUFFLED_PIECES || order == ORDER_MANY_PIECES;

          if ((w == 0 && !long_log) || cheap)
            check_union_order (x, w, all, order, long_log ? 64 : 0, rand);
        }
    }
  if (x->check == CODE_OK)
    x->failed_world = 0;
}

static void
check_c3 (Exec *x)
{
  GArray *final = x->cur[0];
  g_autofree guint8 *seen = g_new0 (guint8, x->chars->len + 1);
  guint expected = 0;

  for (guint i = 0; i < final->len; i++)
    {
      guint32 c = g_array_index (final, guint32, i);
      CharInfo *info = exec_char (x, c);

      if (seen[c])
        {
          exec_fail (x, CODE_C3, "U+%04X appears twice in the final text", map_char (x->map, c));
          return;
        }
      seen[c] = 1;
      if (info->deleted)
        {
          exec_fail (x, CODE_C3, "U+%04X (inserted by %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT
                     ") survived, but a delete targeted it", map_char (x->map, c),
                     char_event_id (x, c).peer, char_event_id (x, c).seq);
          return;
        }
    }
  for (guint32 c = 0; c < x->chars->len; c++)
    {
      CharInfo *info = &g_array_index (x->chars, CharInfo, c);

      if (info->op != 0 && !info->deleted)
        {
          expected++;
          if (!seen[c])
            {
              exec_fail (x, CODE_C3, "U+%04X (inserted by %" G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT
                         ") was never deleted, but is missing", map_char (x->map, c),
                         char_event_id (x, c).peer, char_event_id (x, c).seq);
              return;
            }
        }
    }
  g_assert (expected == final->len);
}

static gint32 *
final_ranks (Exec *x)
{
  GArray *final = x->cur[0];
  gint32 *rank = g_new (gint32, x->chars->len + 1);

  for (guint i = 0; i <= x->chars->len; i++)
    rank[i] = -1;
  for (guint i = 0; i < final->len; i++)
    rank[g_array_index (final, guint32, i)] = i;
  return rank;
}

static void
check_c4 (Exec *x)
{
  g_autofree gint32 *rank = final_ranks (x);

  for (guint p = 0; p < x->n; p++)
    if (x->dirty[p])
      g_ptr_array_add (x->snapshots, ids_copy (x->cur[p]));

  for (guint s = 0; s < x->snapshots->len; s++)
    {
      GArray *snap = g_ptr_array_index (x->snapshots, s);
      gint32 last = -1;
      guint32 last_char = 0;

      for (guint i = 0; i < snap->len; i++)
        {
          guint32 c = g_array_index (snap, guint32, i);
          gint32 r = rank[c];

          if (r < 0)
            continue;
          if (r < last)
            {
              g_autofree char *text = ids_describe (x, snap);

              exec_fail (x, CODE_C4, "U+%04X was seen before U+%04X (in %s), but ends up after it",
                         map_char (x->map, last_char), map_char (x->map, c), text);
              return;
            }
          last = r;
          last_char = c;
        }
    }
}

static void
check_c5 (Exec *x)
{
  GArray *final = x->cur[0];
  g_autofree gint32 *rank = final_ranks (x);
  g_autofree guint *mark = g_new0 (guint, x->chars->len + 1);

  for (guint p = 0; p < x->n; p++)
    typing_flush (x, &x->typing[p]);

  for (guint r = 0; r < x->runs->len; r++)
    {
      GArray *run = g_ptr_array_index (x->runs, r);
      guint32 first = g_array_index (run, guint32, 0);
      TandemEventId first_id = char_event_id (x, first);
      gint32 lo = G_MAXINT32, hi = -1;
      gboolean foreign = FALSE;
      guint surviving = 0;

      for (guint i = 0; i < run->len; i++)
        {
          guint32 c = g_array_index (run, guint32, i);

          mark[c] = r + 1;
          if (rank[c] >= 0)
            {
              surviving++;
              lo = MIN (lo, rank[c]);
              hi = MAX (hi, rank[c]);
            }
        }
      if (surviving < 2)
        continue;
      for (gint32 i = lo + 1; i < hi; i++)
        {
          guint32 c = g_array_index (final, guint32, i);
          CharInfo *info = exec_char (x, c);

          if (mark[c] == r + 1)
            continue;
          foreign = TRUE;
          /* a character inside the run must have been made after (part
           * of) the run, not concurrently with all of it */
          if (!tandem_version_vector_contains (exec_op (x, info->op - 1)->after, &first_id))
            {
              g_autoptr(GArray) span = g_array_new (FALSE, FALSE, sizeof (guint32));
              g_autofree char *run_text = ids_describe (x, run);
              g_autofree char *span_text = NULL;

              g_array_append_vals (span, &g_array_index (final, guint32, lo), hi - lo + 1);
              span_text = ids_describe (x, span);
              exec_fail (x, CODE_C5, "U+%04X, made concurrently with the run %s (first event %"
                         G_GINT64_MODIFIER "x:%" G_GUINT64_FORMAT "), ends up inside it: %s",
                         map_char (x->map, c), run_text, first_id.peer, first_id.seq, span_text);
              return;
            }
        }
      x->stats.c5_spans += foreign;
    }
}

static int
compare_ids (gconstpointer a,
             gconstpointer b)
{
  return tandem_event_id_compare (a, b);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* C8: the field reads against a model of the writes. */
static void
check_c8 (Exec *x)
{
  TandemNote *note = x->worlds[0].notes[0];

  for (guint f = 0; f < N_FIELDS && x->check == CODE_OK; f++)
    {
      const char *field = field_names[f];

      if (field_policies[f] == TANDEM_FIELD_POLICY_SET)
        {
          g_autoptr(GPtrArray) want = g_ptr_array_new ();
          g_autoptr(GPtrArray) got = tandem_note_dup_set (note, field);
          g_autoptr(GString) w = g_string_new (NULL);
          g_autoptr(GString) g = g_string_new (NULL);

          for (guint e = 0; e < N_ELEMS; e++)
            {
              gboolean present = FALSE;

              /* add-wins: some add of e that no remove of e observed */
              for (guint i = 0; i < x->ops->len && !present; i++)
                {
                  OpInfo *add = &g_array_index (x->ops, OpInfo, i);
                  gboolean removed = FALSE;

                  if (!add->made || add->kind != STEP_ADD || add->field != f || add->value != e)
                    continue;
                  for (guint j = 0; j < x->ops->len && !removed; j++)
                    {
                      OpInfo *rm = &g_array_index (x->ops, OpInfo, j);

                      removed = rm->made && rm->kind == STEP_REMOVE && rm->field == f && rm->value == e &&
                                tandem_version_vector_contains (rm->before, &add->id);
                    }
                  present = !removed;
                }
              if (present)
                g_ptr_array_add (want, (gpointer) elems[e]);
            }
          g_ptr_array_sort (want, compare_strings);
          for (guint i = 0; i < want->len; i++)
            g_string_append_printf (w, " %s", (char *) g_ptr_array_index (want, i));
          for (guint i = 0; i < got->len; i++)
            g_string_append_printf (g, " %s", (char *) g_ptr_array_index (got, i));
          if (!g_str_equal (w->str, g->str))
            exec_fail (x, CODE_C8, "%s should be [%s ], is [%s ]", field, w->str, g->str);
        }
      else
        {
          g_autoptr(GArray) live = g_array_new (FALSE, FALSE, sizeof (TandemEventId));
          g_autoptr(GArray) got_live = g_array_new (FALSE, FALSE, sizeof (TandemEventId));
          GPtrArray *engine_live = tandem_field_table_get_live (tandem_note_get_fields (note), field);
          OpInfo *winner = NULL;
          g_autoptr(GVariant) got = tandem_note_dup_field (note, field);
          g_autoptr(GVariant) want = NULL;
          g_autoptr(GPtrArray) got_values = tandem_note_dup_field_values (note, field);
          g_autoptr(GPtrArray) want_values = g_ptr_array_new_with_free_func (g_free);
          g_autoptr(GPtrArray) got_strings = g_ptr_array_new_with_free_func (g_free);
          g_autoptr(GString) w = g_string_new (NULL);
          g_autoptr(GString) g = g_string_new (NULL);

          for (guint i = 0; i < x->ops->len; i++)
            {
              OpInfo *a = &g_array_index (x->ops, OpInfo, i);
              gboolean dominated = FALSE;
              g_autoptr(GVariant) v = NULL;
              char *s;

              if (!a->made || (a->kind != STEP_SET && a->kind != STEP_UNSET) || a->field != f)
                continue;
              for (guint j = 0; j < x->ops->len && !dominated; j++)
                {
                  OpInfo *b = &g_array_index (x->ops, OpInfo, j);

                  dominated = b->made && (b->kind == STEP_SET || b->kind == STEP_UNSET) && b->field == f &&
                              tandem_version_vector_dominates (b->after, a->after);
                }
              if (dominated)
                continue;
              g_array_append_val (live, a->id);
              if (winner == NULL || a->lamport > winner->lamport ||
                  (a->lamport == winner->lamport && tandem_event_id_compare (&a->id, &winner->id) > 0))
                winner = a;
              v = a->kind == STEP_SET ? value_new (a->value) : NULL;
              s = value_to_string (v);
              if (g_ptr_array_find_with_equal_func (want_values, s, g_str_equal, NULL))
                g_free (s);
              else
                g_ptr_array_add (want_values, s);
            }
          for (guint i = 0; engine_live && i < engine_live->len; i++)
            g_array_append_val (got_live, ((TandemFieldWrite *) g_ptr_array_index (engine_live, i))->id);
          g_array_sort (live, compare_ids);
          g_array_sort (got_live, compare_ids);
          if (live->len != got_live->len ||
              (live->len > 0 && memcmp (live->data, got_live->data, live->len * sizeof (TandemEventId)) != 0))
            {
              g_autofree char *digest = fields_digest (note);

              exec_fail (x, CODE_C8, "%s should have %u live writes (not dominated), has %u: %s",
                         field, live->len, got_live->len, digest);
              return;
            }

          if (winner && winner->kind == STEP_SET)
            want = value_new (winner->value);
          if ((want == NULL) != (got == NULL) || (want && !g_variant_equal (want, got)))
            {
              g_autofree char *a = value_to_string (want);
              g_autofree char *b = value_to_string (got);

              exec_fail (x, CODE_C8, "%s: the lww read should be %s (max (lamport, peer) of the live writes), is %s",
                         field, a, b);
              return;
            }

          for (guint i = 0; i < got_values->len; i++)
            g_ptr_array_add (got_strings, value_to_string (g_ptr_array_index (got_values, i)));
          g_ptr_array_sort (want_values, compare_strings);
          g_ptr_array_sort (got_strings, compare_strings);
          for (guint i = 0; i < want_values->len; i++)
            g_string_append_printf (w, " %s", (char *) g_ptr_array_index (want_values, i));
          for (guint i = 0; i < got_strings->len; i++)
            g_string_append_printf (g, " %s", (char *) g_ptr_array_index (got_strings, i));
          if (!g_str_equal (w->str, g->str))
            exec_fail (x, CODE_C8, "%s: the manual read should show [%s ] (a conflict iff more than one), shows [%s ]",
                       field, w->str, g->str);
        }
    }
}

/* C6: delivering again what a peer has changes nothing. */
static void
check_c6 (Exec  *x,
          GRand *rand)
{
  for (guint w = 0; w < x->n_worlds && x->check == CODE_OK; w++)
    {
      guint p = g_rand_int_range (rand, 0, x->n);
      TandemNote *note = x->worlds[w].notes[p];
      g_autoptr(GPtrArray) all = tandem_note_dup_events_since (x->worlds[w].notes[(p + 1) % x->n], NULL);
      g_autoptr(GPtrArray) pieces = cut_into_pieces (all, rand);
      g_autoptr(GPtrArray) one = g_ptr_array_new ();
      g_autoptr(GPtrArray) many = g_ptr_array_new ();
      g_autoptr(GPtrArray) errors = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = tandem_note_dup_text (note);
      g_autofree char *fields = fields_digest (note);
      g_autoptr(TandemVersionVector) vv = tandem_version_vector_copy (tandem_note_get_version (note));
      guint n_events = tandem_note_get_n_events (note);
      g_autofree char *text_after = NULL;
      g_autofree char *fields_after = NULL;

      shuffle (pieces, rand);
      for (guint i = 0; i < pieces->len; i++)
        switch (g_rand_int_range (rand, 0, 3))
          {
          case 0:
            g_ptr_array_add (one, g_ptr_array_index (pieces, i));
            break;
          case 1:
            g_ptr_array_add (many, g_ptr_array_index (pieces, i));
            break;
          default:
            break;
          }
      x->failed_world = w;
      if (!deliver_all (note, one, &error) || !tandem_note_receive_many (note, many, &errors))
        {
          exec_fail (x, CODE_REJECT, "p%02u refused a duplicate: %s", p,
                     error ? error->message : ((GError *) g_ptr_array_index (errors, 0))->message);
          return;
        }
      text_after = tandem_note_dup_text (note);
      fields_after = fields_digest (note);
      if (g_strcmp0 (text, text_after) != 0)
        exec_fail (x, CODE_C6, "duplicates changed p%02u's text from \"%s\" to \"%s\"", p, text, text_after);
      else if (!tandem_version_vector_equal (vv, tandem_note_get_version (note)) ||
               n_events != tandem_note_get_n_events (note) || tandem_note_get_n_pending (note) != 0)
        exec_fail (x, CODE_C6, "duplicates changed p%02u's version, log or causal buffer", p);
      else if (g_strcmp0 (fields, fields_after) != 0)
        exec_fail (x, CODE_C6, "duplicates changed p%02u's fields from %s to %s", p, fields, fields_after);
    }
  if (x->check == CODE_OK)
    x->failed_world = 0;
}

static void
check_unicode (Exec *x)
{
  if (x->n_worlds < 2)
    return;
  for (guint p = 0; p < x->n && x->check == CODE_OK; p++)
    {
      g_autofree char *want = chars_to_utf8 (MAP_REAL, (guint32 *) x->cur[p]->data, x->cur[p]->len);
      g_autofree char *got = tandem_note_dup_text (x->worlds[1].notes[p]);

      if (g_strcmp0 (want, got) != 0)
        {
          exec_fail (x, CODE_UNICODE, "p%02u: the real text is \"%s\", the unique-character run says \"%s\"",
                     p, got, want);
          x->failed_world = 1;
        }
    }
}

/* After the tail: every check of ALGORITHM.md §7 that needs quiescence.
 * The shuffles use a generator seeded by the log, so a replayed script
 * makes the same checks. */
static void
exec_check_final (Exec *x)
{
  g_autoptr(GRand) rand = NULL;

  if (x->check != CODE_OK)
    return;
  rand = g_rand_new_with_seed (tandem_note_get_n_events (x->worlds[0].notes[0]) * 7919 + x->n);

  for (guint p = 0; p < x->n && x->check == CODE_OK; p++)
    exec_observe (x, p, NULL);
  check_c7 (x);
  if (x->check == CODE_OK)
    check_c1 (x);
  if (x->check == CODE_OK)
    check_unicode (x);
  if (x->check == CODE_OK)
    check_c3 (x);
  if (x->check == CODE_OK)
    check_c4 (x);
  if (x->check == CODE_OK)
    check_c5 (x);
  if (x->check == CODE_OK)
    check_c8 (x);
  if (x->check == CODE_OK)
    check_c2 (x, rand);
  if (x->check == CODE_OK)
    check_c6 (x, rand);
  x->stats.events += tandem_note_get_n_events (x->worlds[0].notes[0]);
}

static void
exec_replay (Exec         *x,
             const Script *script)
{
  for (guint i = 0; i < script->main->len && x->check == CODE_OK; i++)
    exec_step (x, &g_array_index (script->main, Step, i));
  exec_begin_tail (x);
  for (guint i = 0; i < script->tail->len && x->check == CODE_OK; i++)
    exec_step (x, &g_array_index (script->tail, Step, i));
  exec_check_final (x);
}

static JsonNode *
variant_to_json (GVariant *v)
{
  JsonNode *node = json_node_alloc ();

  if (v == NULL)
    return json_node_init_null (node);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
    return json_node_init_string (node, g_variant_get_string (v, NULL));
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
    return json_node_init_int (node, g_variant_get_int64 (v));
  return json_node_init_boolean (node, g_variant_get_boolean (v));
}

/* The top-level "expect" of a scenario, from a peer at quiescence. */
static char *
expect_json (TandemNote *note)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = tandem_note_dup_text (note);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, text);
  json_builder_set_member_name (b, "fields");
  json_builder_begin_object (b);
  for (guint f = 0; f < N_FIELDS; f++)
    {
      json_builder_set_member_name (b, field_names[f]);
      json_builder_begin_object (b);
      if (field_policies[f] == TANDEM_FIELD_POLICY_SET)
        {
          g_autoptr(GPtrArray) set = tandem_note_dup_set (note, field_names[f]);

          json_builder_set_member_name (b, "set");
          json_builder_begin_array (b);
          for (guint i = 0; i < set->len; i++)
            json_builder_add_string_value (b, g_ptr_array_index (set, i));
          json_builder_end_array (b);
        }
      else
        {
          g_autoptr(GVariant) v = tandem_note_dup_field (note, field_names[f]);
          g_autoptr(GPtrArray) values = tandem_note_dup_field_values (note, field_names[f]);

          json_builder_set_member_name (b, "lww");
          json_builder_add_value (b, variant_to_json (v));
          json_builder_set_member_name (b, "manual");
          if (values->len <= 1)
            json_builder_add_value (b, variant_to_json (values->len ? g_ptr_array_index (values, 0) : NULL));
          else
            {
              json_builder_begin_object (b);
              json_builder_set_member_name (b, "conflict");
              json_builder_begin_array (b);
              for (guint i = 0; i < values->len; i++)
                json_builder_add_value (b, variant_to_json (g_ptr_array_index (values, i)));
              json_builder_end_array (b);
              json_builder_end_object (b);
            }
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* The failure and every peer's text, for the parent process. */
static void
exec_report (Exec *x)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *message = g_strescape (x->message->str, NULL);
  World *w = &x->worlds[MIN (x->failed_world, x->n_worlds - 1)];

  g_string_append_printf (out, "R %d %u\nM %s\n", x->check, x->failed_world, message);
  for (guint p = 0; p < x->n; p++)
    {
      g_autofree char *text = tandem_note_dup_text (w->notes[p]);
      g_autofree char *escaped = g_strescape (text, NULL);

      g_string_append_printf (out, "X %u %s\n", p, escaped);
    }
  if (x->check == CODE_OK)
    {
      g_autofree char *expect = expect_json (x->worlds[0].notes[0]);
      g_autofree char *escaped = g_strescape (expect, NULL);

      g_string_append_printf (out, "E %s\n", escaped);
    }
  stream_line (x, out->str);
}

/* ---- generating runs ----------------------------------------------------- */

typedef struct
{
  guint8 from;
  guint8 to;
  guint op;
} Message;

typedef struct
{
  Exec *x;
  const RunConfig *config;
  GRand *rand;
  GArray *queue;            /* Message */
  gboolean partitioned;
  guint8 side[MAX_PEERS];
  gboolean offline[MAX_PEERS];
  guint next_char;
  guint next_op;
  guint cursor[MAX_PEERS];
  gboolean has_cursor[MAX_PEERS];
  gboolean backward[MAX_PEERS];
  gint typist;              /* a peer in a typing session, or -1 */
  guint keys_left;
  gint branch_peer;         /* a peer on a long offline branch, or -1 */
  guint branch_left;
} Gen;

static gboolean
can_talk (Gen   *g,
          guint  a,
          guint  b)
{
  if (g->offline[a] || g->offline[b])
    return FALSE;
  return !g->partitioned || g->side[a] == g->side[b];
}

static void
gen_run (Gen  *g,
         Step *s)
{
  exec_step (g->x, s);
  step_clear (s);
}

static void
gen_broadcast (Gen   *g,
               guint  from,
               guint  op)
{
  for (guint q = 0; q < g->config->n; q++)
    if (q != from && g_rand_double (g->rand) >= g->config->loss)
      {
        Message m = { from, q, op };

        g_array_append_val (g->queue, m);
      }
}

static void
gen_insert (Gen      *g,
            guint     p,
            guint     pos,
            guint     n,
            gboolean  backward)
{
  Step s = { STEP_INS, .at = p, .pos = pos, .op = g->next_op++, .n_chars = n };

  if (g->next_char + n > MAX_CHARS)
    return;
  s.chars = g_new (guint32, n);
  for (guint i = 0; i < n; i++)
    s.chars[i] = g->next_char++;
  gen_run (g, &s);
  g->cursor[p] = backward ? pos : pos + n;
  g->has_cursor[p] = TRUE;
  gen_broadcast (g, p, s.op);
}

static void
gen_keystroke (Gen   *g,
               guint  p)
{
  guint len = g->x->cur[p]->len;
  guint pos = MIN (g->cursor[p], len);
  guint n = !g->backward[p] && g_rand_double (g->rand) < 0.1 ? g_rand_int_range (g->rand, 2, 4) : 1;

  gen_insert (g, p, pos, n, g->backward[p]);
  if (--g->keys_left == 0)
    g->typist = -1;
}

static void
gen_field (Gen   *g,
           guint  p)
{
  Step s = { STEP_SET, .at = p, .op = g->next_op++ };

  s.field = g_rand_int_range (g->rand, 0, N_FIELDS);
  if (field_policies[s.field] == TANDEM_FIELD_POLICY_SET)
    {
      s.kind = g_rand_double (g->rand) < 0.6 ? STEP_ADD : STEP_REMOVE;
      s.value = g_rand_int_range (g->rand, 0, N_ELEMS);
    }
  else
    {
      s.kind = g_rand_double (g->rand) < 0.2 ? STEP_UNSET : STEP_SET;
      s.value = s.kind == STEP_SET ? g_rand_int_range (g->rand, 0, N_VALUES) : 0;
    }
  gen_run (g, &s);
  gen_broadcast (g, p, s.op);
}

static void
gen_local (Gen   *g,
           guint  p)
{
  guint len = g->x->cur[p]->len;
  double r = g_rand_double (g->rand);

  if (r < 0.05)
    gen_field (g, p);
  else if (r < 0.06)
    {
      /* now and then something bigger than §7 asks for, so that runs and
       * the text's chunks split in many places: a selection deleted, or a
       * long paste */
      if (len > 100 && g_rand_boolean (g->rand))
        {
          Step s = { STEP_DEL, .at = p, .op = g->next_op++ };

          s.len = g_rand_int_range (g->rand, 100, MIN (len, 700) + 1);
          s.pos = g_rand_int_range (g->rand, 0, len - s.len + 1);
          g->cursor[p] = s.pos;
          g->has_cursor[p] = TRUE;
          gen_run (g, &s);
          gen_broadcast (g, p, s.op);
        }
      else
        gen_insert (g, p, g_rand_int_range (g->rand, 0, len + 1), g_rand_int_range (g->rand, 300, 1201), FALSE);
    }
  else if (len > 0 && r < 0.35)
    {
      Step s = { STEP_DEL, .at = p, .op = g->next_op++ };

      if (g_rand_double (g->rand) < 0.7)
        {
          s.len = g_rand_int_range (g->rand, 1, 4);
          if (g->has_cursor[p] && g->cursor[p] > 0 && g->cursor[p] <= len && g_rand_boolean (g->rand))
            s.pos = g->cursor[p] > s.len ? g->cursor[p] - s.len : 0;   /* backspace */
          else
            s.pos = g_rand_int_range (g->rand, 0, len);
        }
      else
        {
          s.len = g_rand_int_range (g->rand, 1, 21);
          s.pos = g_rand_int_range (g->rand, 0, len);
        }
      s.len = MIN (s.len, len - s.pos);
      g->cursor[p] = s.pos;
      g->has_cursor[p] = TRUE;
      gen_run (g, &s);
      gen_broadcast (g, p, s.op);
    }
  else if (g->has_cursor[p] && g->cursor[p] <= len && g_rand_boolean (g->rand))
    {
      /* keep typing at the cursor, one event per key */
      g->typist = p;
      g->keys_left = g_rand_int_range (g->rand, 2, 21);
      g->backward[p] = g_rand_double (g->rand) < 0.3;
      gen_keystroke (g, p);
    }
  else
    {
      double size = g_rand_double (g->rand);
      guint n = size < 0.55 ? 1 : size < 0.85 ? g_rand_int_range (g->rand, 2, 21) : 50;

      gen_insert (g, p, g_rand_int_range (g->rand, 0, len + 1), n, FALSE);
    }
}

/* With a causal transport, a message waits until the receiver has its
 * parents. */
static gboolean
gen_deliverable (Gen     *g,
                 Message *m)
{
  TandemEvent *e = get_op_event (&g->x->worlds[0], m->op);
  const TandemVersionVector *vv = tandem_note_get_version (g->x->worlds[0].notes[m->to]);

  if (!g->config->causal)
    return TRUE;
  if (tandem_version_vector_get (vv, e->peer) < e->seq)
    return FALSE;
  for (guint i = 0; i < e->n_parents; i++)
    if (!tandem_version_vector_contains (vv, &e->parents[i]))
      return FALSE;
  return TRUE;
}

/* Delivers one random message among those that can go now: random
 * order, not FIFO. */
static void
gen_deliver (Gen *g)
{
  g_autoptr(GArray) now = g_array_new (FALSE, FALSE, sizeof (guint));
  guint k;
  Message m;
  Step s = { STEP_RECEIVE };

  for (guint i = 0; i < g->queue->len; i++)
    {
      Message *q = &g_array_index (g->queue, Message, i);

      if (can_talk (g, q->from, q->to) && gen_deliverable (g, q))
        g_array_append_val (now, i);
    }
  if (now->len == 0)
    return;
  k = g_array_index (now, guint, g_rand_int_range (g->rand, 0, now->len));
  m = g_array_index (g->queue, Message, k);
  g_array_remove_index_fast (g->queue, k);
  s.at = m.to;
  s.op = m.op;
  gen_run (g, &s);
  if (g_rand_double (g->rand) < 0.05)
    g_array_append_val (g->queue, m);             /* duplicated */
  if (g->config->n > 2 && g_rand_double (g->rand) < 0.3)
    {
      /* relayed by the receiver, with whatever history it has */
      Message relay = { m.to, g_rand_int_range (g->rand, 0, g->config->n), m.op };

      if (relay.to != m.to && relay.to != m.from)
        g_array_append_val (g->queue, relay);
    }
}

static void
gen_anti_entropy (Gen *g)
{
  for (guint attempt = 0; attempt < 5; attempt++)
    {
      Step s = { g_rand_double (g->rand) < 0.3 ? STEP_SYNC_MANY : STEP_SYNC,
                 .at = g_rand_int_range (g->rand, 0, g->config->n),
                 .with = g_rand_int_range (g->rand, 0, g->config->n) };

      if (s.at != s.with && can_talk (g, s.at, s.with))
        {
          gen_run (g, &s);
          return;
        }
    }
}

static void
gen_partition (Gen *g)
{
  guint n = g->config->n;
  guint a = g_rand_int_range (g->rand, 0, n);
  guint b = (a + g_rand_int_range (g->rand, 1, n)) % n;

  for (guint p = 0; p < n; p++)
    g->side[p] = g_rand_boolean (g->rand);
  g->side[a] = 0;
  g->side[b] = 1;
  g->partitioned = TRUE;
}

/* Toggles a random peer; at most a quarter of the peers (at least one) are
 * offline at a time, so that the others still talk. */
static void
gen_toggle_offline (Gen *g)
{
  guint p = g_rand_int_range (g->rand, 0, g->config->n);
  guint n_offline = 0;

  for (guint q = 0; q < g->config->n; q++)
    n_offline += g->offline[q];
  if (!g->offline[p] && n_offline >= MAX (1, g->config->n / 4))
    for (guint q = 0; q < g->config->n; q++)
      if (g->offline[(p + q) % g->config->n])
        {
          p = (p + q) % g->config->n;
          break;
        }
  if (g->offline[p])
    {
      if ((gint) p != g->branch_peer)
        g->offline[p] = FALSE;
      return;
    }
  g->offline[p] = TRUE;
  if (g->config->branches && g->branch_peer < 0 && g_rand_double (g->rand) < 0.6)
    {
      g->branch_peer = p;
      g->branch_left = g_rand_int_range (g->rand, 50, 2001);
    }
}

static void
generate (Exec            *x,
          const RunConfig *config,
          GRand           *rand)
{
  Gen g = { x, config, rand };

  g.queue = g_array_new (FALSE, FALSE, sizeof (Message));
  g.typist = -1;
  g.branch_peer = -1;

  for (guint i = 0; i < config->n_steps && x->check == CODE_OK; i++)
    {
      double local = g.branch_peer >= 0 ? 0.6 : 0.35;
      double r;

      if (g.typist >= 0 && g_rand_double (rand) < 0.65)
        {
          gen_keystroke (&g, g.typist);
          continue;
        }

      r = g_rand_double (rand);
      if (r < local)
        {
          guint p = g.branch_peer >= 0 && g_rand_double (rand) < 0.8
                  ? (guint) g.branch_peer : (guint) g_rand_int_range (rand, 0, config->n);

          if ((gint) p == g.typist)
            gen_keystroke (&g, p);
          else
            gen_local (&g, p);
          if ((gint) p == g.branch_peer && --g.branch_left == 0)
            {
              g.offline[p] = FALSE;
              g.branch_peer = -1;
            }
          continue;
        }

      /* the rest split as in ALGORITHM.md §7, over the 65% that is not local */
      r = (r - local) / (1 - local) * 65;
      if (r < 49)
        gen_deliver (&g);
      else if (r < 54)
        gen_anti_entropy (&g);
      else if (r < 58)
        gen_partition (&g);
      else if (r < 61)
        g.partitioned = FALSE;
      else if (r < 64)
        gen_toggle_offline (&g);
      else
        {
          Step s = { STEP_RESTART, .at = g_rand_int_range (rand, 0, config->n) };

          gen_run (&g, &s);
        }
    }

  /* heal, sync everything, then deliver the stale messages and a few more
   * duplicates */
  exec_begin_tail (x);
  for (guint i = 0; i < g.queue->len && x->check == CODE_OK; i++)
    {
      guint k = g_rand_int_range (rand, i, g.queue->len);
      Message m = g_array_index (g.queue, Message, k);
      Step s = { STEP_RECEIVE, .at = m.to, .op = m.op };

      g_array_index (g.queue, Message, k) = g_array_index (g.queue, Message, i);
      gen_run (&g, &s);
    }
  for (guint i = 0; g.next_op > 0 && i < g.next_op / 8 + 1 && x->check == CODE_OK; i++)
    {
      Step s = { STEP_RECEIVE, .at = g_rand_int_range (rand, 0, config->n),
                 .op = g_rand_int_range (rand, 0, g.next_op) };

      gen_run (&g, &s);
    }
  exec_check_final (x);
  g_array_unref (g.queue);
}

static GRand *
rand_for_run (CaseKind kind,
              guint64  seed)
{
  guint32 s[3] = { (guint32) seed, (guint32) (seed >> 32), 0x7a11de00u + kind };

  return g_rand_new_with_seed_array (s, 3);
}

static int
compare_u64 (const void *a,
             const void *b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return x < y ? -1 : x > y;
}

static void
config_init (RunConfig *c,
             CaseKind   kind,
             guint64    seed,
             GRand     *rand)
{
  static const guint small_n[] = { 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 8, 8 };

  memset (c, 0, sizeof *c);
  c->kind = kind;
  c->seed = seed;
  c->loss = 0.3;
  switch (kind)
    {
    case CASE_LARGE:
      c->n = g_rand_boolean (rand) ? 16 : 32;
      c->n_steps = g_rand_int_range (rand, 50, 251);
      break;
    case CASE_OFFLINE:
      c->n = g_rand_int_range (rand, 2, 5);
      c->n_steps = g_rand_int_range (rand, 500, 4501);
      c->branches = TRUE;
      break;
    case CASE_EMOJI:
      c->n = small_n[g_rand_int_range (rand, 0, G_N_ELEMENTS (small_n))];
      c->n_steps = g_rand_int_range (rand, 20, 301);
      c->shadow = TRUE;
      break;
    case CASE_CAUSAL:
      /* a reliable session: in causal order, nothing lost */
      c->causal = TRUE;
      c->loss = 0;
      G_GNUC_FALLTHROUGH;
    case CASE_SMALL:
    default:
      c->n = small_n[g_rand_int_range (rand, 0, G_N_ELEMENTS (small_n))];
      c->n_steps = g_rand_int_range (rand, 20, 401);
      break;
    }

  /* Half the runs use the ids a scenario file gets (2, 3, …), half random
   * 64-bit ones, in the same order as the peers. */
  if (g_rand_boolean (rand))
    for (guint p = 0; p < c->n; p++)
      c->ids[p] = 2 + p;
  else
    {
      gboolean distinct = FALSE;

      while (!distinct)
        {
          for (guint p = 0; p < c->n; p++)
            c->ids[p] = MAX (((guint64) g_rand_int (rand) << 32) | g_rand_int (rand), 2);
          qsort (c->ids, c->n, sizeof (guint64), compare_u64);
          distinct = TRUE;
          for (guint p = 1; p < c->n; p++)
            distinct &= c->ids[p] != c->ids[p - 1];
        }
    }
}

/* Generates and checks one run; returns its failure code. */
static int
run_generated (CaseKind  kind,
               guint64   seed,
               int       stream_fd,
               Stats    *stats)
{
  g_autoptr(GRand) rand = rand_for_run (kind, seed);
  RunConfig config;
  Exec x;
  int code;

  config_init (&config, kind, seed, rand);
  exec_init (&x, config.n, config.ids, MAP_PUA, config.shadow, stream_fd);
  if (stream_fd >= 0)
    {
      g_autoptr(GString) header = g_string_new (NULL);

      g_string_append_printf (header, "H %u %d %d", config.n, MAP_PUA, config.shadow);
      for (guint p = 0; p < config.n; p++)
        g_string_append_printf (header, " %" G_GUINT64_FORMAT, config.ids[p]);
      g_string_append_c (header, '\n');
      stream_line (&x, header->str);
    }
  generate (&x, &config, rand);
  if (stream_fd >= 0)
    exec_report (&x);
  code = x.check;
  if (stats)
    stats_add (stats, &x.stats);
  exec_clear (&x);
  return code;
}

static int
run_script (const Script *script,
            int           stream_fd)
{
  Exec x;
  int code;

  exec_init (&x, script->n, script->ids, script->map, script->shadow, stream_fd);
  exec_replay (&x, script);
  if (stream_fd >= 0)
    exec_report (&x);
  code = x.check;
  exec_clear (&x);
  return code;
}

/* ---- child processes ----------------------------------------------------- */

/* How long one run may take: TANDEM_CONVERGENCE_RUN_SECONDS (0: no
 * limit), else RUN_SECONDS, twenty times that under valgrind. */
static guint
run_seconds (void)
{
  const char *env = g_getenv ("TANDEM_CONVERGENCE_RUN_SECONDS");
  const char *preload = g_getenv ("LD_PRELOAD");

  if (env && *env)
    return g_ascii_strtoull (env, NULL, 10);
  if (preload && strstr (preload, "vgpreload"))
    return 20 * RUN_SECONDS;
  return RUN_SECONDS;
}

typedef struct
{
  int code;
  guint failed_world;
  gboolean reached_tail;    /* the final sync-all ran */
  char *message;
  char *expect;             /* a passing run: the scenario's "expect", as JSON */
  GPtrArray *texts;         /* of the failing world, one per peer */
  Script *script;           /* the steps the child ran, clamped, up to the failure */
} Outcome;

static void
outcome_free (Outcome *o)
{
  if (o == NULL)
    return;
  g_free (o->message);
  g_free (o->expect);
  g_clear_pointer (&o->texts, g_ptr_array_unref);
  script_free (o->script);
  g_free (o);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Outcome, outcome_free)

static Outcome *
outcome_parse (const char *data,
               const Script *replayed)
{
  Outcome *o = g_new0 (Outcome, 1);
  g_auto(GStrv) lines = g_strsplit (data, "\n", -1);
  gboolean in_tail = FALSE;

  o->code = -1;
  o->texts = g_ptr_array_new_with_free_func (g_free);
  o->script = script_new ();
  if (replayed)
    {
      o->script->n = replayed->n;
      memcpy (o->script->ids, replayed->ids, sizeof replayed->ids);
      o->script->map = replayed->map;
      o->script->shadow = replayed->shadow;
    }

  for (guint i = 0; lines[i]; i++)
    {
      const char *l = lines[i];
      Step s;

      if (l[0] == 'S' && step_from_line (l, &s))
        g_array_append_val (in_tail ? o->script->tail : o->script->main, s);
      else if (l[0] == 'T')
        in_tail = o->reached_tail = TRUE;
      else if (l[0] == 'H')
        {
          char *end;
          const char *c = l + 2;

          o->script->n = g_ascii_strtoull (c, &end, 10);
          c = end;
          o->script->map = g_ascii_strtoull (c, &end, 10);
          c = end;
          o->script->shadow = g_ascii_strtoull (c, &end, 10);
          c = end;
          for (guint p = 0; p < o->script->n && p < MAX_PEERS; p++)
            {
              o->script->ids[p] = g_ascii_strtoull (c, &end, 10);
              c = end;
            }
        }
      else if (l[0] == 'R')
        {
          char *end;

          o->code = g_ascii_strtoll (l + 2, &end, 10);
          o->failed_world = g_ascii_strtoull (end, NULL, 10);
        }
      else if (l[0] == 'M')
        {
          g_free (o->message);
          o->message = g_strcompress (l + 2);
        }
      else if (l[0] == 'E')
        {
          g_free (o->expect);
          o->expect = g_strcompress (l + 2);
        }
      else if (l[0] == 'X')
        {
          const char *space = strchr (l + 2, ' ');

          g_ptr_array_add (o->texts, g_strcompress (space ? space + 1 : ""));
        }
    }
  return o;
}

/* Runs a script, or generates run @seed of @kind when @script is NULL, in
 * a child process, and collects what it did. A crash or a hang is a
 * failure like any other. */
static Outcome *
spawn_run (const Script *script,
           CaseKind      kind,
           guint64       seed,
           gboolean      quiet)
{
  int fds[2];
  pid_t pid;
  int status;
  g_autoptr(GString) data = NULL;
  Outcome *o;

  g_autofree char *log_path = NULL;
  g_autofree char *log = NULL;
  int log_fd;

  /* what the child prints (a critical, an assertion) goes to a file */
  log_fd = g_file_open_tmp ("test-convergence-XXXXXX.log", &log_path, NULL);
  fflush (stdout);
  fflush (stderr);
  if (pipe (fds) != 0)
    g_error ("pipe: %s", g_strerror (errno));
  pid = fork ();
  if (pid < 0)
    g_error ("fork: %s", g_strerror (errno));
  if (pid == 0)
    {
      close (fds[0]);
      if (log_fd >= 0)
        {
          dup2 (log_fd, STDOUT_FILENO);
          dup2 (log_fd, STDERR_FILENO);
        }
      g_clear_pointer (&log_path, g_free);
      alarm (run_seconds ());
      _exit (script ? run_script (script, fds[1]) : run_generated (kind, seed, fds[1], NULL));
    }
  data = g_string_new (NULL);
  close (fds[1]);
  for (;;)
    {
      char buf[65536];
      gssize n = read (fds[0], buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      g_string_append_len (data, buf, n);
    }
  close (fds[0]);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (log_fd >= 0)
    {
      close (log_fd);
      g_file_get_contents (log_path, &log, NULL, NULL);
      g_unlink (log_path);
      if (!quiet && log && *log)
        g_test_message ("the run printed: %s", log);
    }

  o = outcome_parse (data->str, script);
  if (WIFSIGNALED (status))
    {
      g_autofree char *printed = g_strstrip (g_strdup (log ? log : ""));
      char *last = strrchr (printed, '\n');

      o->code = CODE_SIGNAL + WTERMSIG (status);
      g_free (o->message);
      o->message = g_strdup_printf ("the run crashed with signal %d (%s)%s", WTERMSIG (status),
                                    g_strsignal (WTERMSIG (status)),
                                    WTERMSIG (status) == SIGALRM ? ": the run did not finish in time" : "");
      if (*printed)
        {
          char *m = g_strdup_printf ("%s: %s", o->message, last ? last + 1 : printed);

          g_free (o->message);
          o->message = m;
        }
    }
  else if (o->code < 0)
    {
      o->code = CODE_SIGNAL;
      g_free (o->message);
      o->message = g_strdup_printf ("the child exited with %d without a report", WEXITSTATUS (status));
    }
  return o;
}

/* ---- shrinking ----------------------------------------------------------- */

typedef struct
{
  int code;
  Outcome *best;            /* the smallest failing script found, and what it did */
  gint64 deadline;
  guint attempts;
} Shrink;

static gboolean
shrink_try (Shrink *sh,
            Script *candidate)
{
  Outcome *o;

  if (g_get_monotonic_time () > sh->deadline)
    return FALSE;
  sh->attempts++;
  o = spawn_run (candidate, 0, 0, TRUE);
  if (o->code != sh->code || script_length (o->script) > script_length (sh->best->script))
    {
      outcome_free (o);
      return FALSE;
    }
  /* keep the header of the candidate (ids, map) */
  o->script->n = candidate->n;
  memcpy (o->script->ids, candidate->ids, sizeof candidate->ids);
  o->script->map = candidate->map;
  o->script->shadow = candidate->shadow;
  outcome_free (sh->best);
  sh->best = o;
  return TRUE;
}

/* Delta debugging over one list of steps: drop chunks, halving the chunk
 * size when no chunk can go. */
static void
shrink_steps (Shrink   *sh,
              gboolean  tail)
{
  guint chunk = MAX (1, (tail ? sh->best->script->tail : sh->best->script->main)->len / 2);

  while (g_get_monotonic_time () < sh->deadline)
    {
      gboolean progress = FALSE;

      for (guint i = 0; ; )
        {
          GArray *steps = tail ? sh->best->script->tail : sh->best->script->main;
          g_autoptr(Script) candidate = NULL;
          GArray *c;

          if (i >= steps->len || g_get_monotonic_time () > sh->deadline)
            break;
          candidate = script_copy (sh->best->script);
          c = tail ? candidate->tail : candidate->main;
          g_array_remove_range (c, i, MIN (chunk, c->len - i));
          if (shrink_try (sh, candidate))
            progress = TRUE;
          else
            i += chunk;
        }
      if (!progress)
        {
          if (chunk == 1)
            break;
          chunk /= 2;
        }
    }
}

/* Shorter inserts and deletes. */
static gboolean
shrink_texts (Shrink *sh)
{
  gboolean any = FALSE;

  for (guint i = 0; i < sh->best->script->main->len + sh->best->script->tail->len; i++)
    {
      guint n_main = sh->best->script->main->len;
      Step *s = i < n_main ? &g_array_index (sh->best->script->main, Step, i)
                           : &g_array_index (sh->best->script->tail, Step, i - n_main);
      guint size = s->kind == STEP_INS ? s->n_chars : s->kind == STEP_DEL ? s->len : 0;

      while (size > 1 && g_get_monotonic_time () < sh->deadline)
        {
          guint tries[3] = { 1, size / 2, size - 1 };
          gboolean shorter = FALSE;

          for (guint t = 0; t < 3 && !shorter; t++)
            {
              g_autoptr(Script) candidate = script_copy (sh->best->script);
              Step *cs = i < n_main ? &g_array_index (candidate->main, Step, i)
                                    : &g_array_index (candidate->tail, Step, i - n_main);

              if (tries[t] >= size || tries[t] == 0)
                continue;
              if (cs->kind == STEP_INS)
                cs->n_chars = tries[t];
              else
                cs->len = tries[t];
              shorter = shrink_try (sh, candidate);
            }
          if (!shorter)
            break;
          any = TRUE;
          if (i >= sh->best->script->main->len + sh->best->script->tail->len)
            break;
          n_main = sh->best->script->main->len;
          s = i < n_main ? &g_array_index (sh->best->script->main, Step, i)
                         : &g_array_index (sh->best->script->tail, Step, i - n_main);
          size = s->kind == STEP_INS ? s->n_chars : s->kind == STEP_DEL ? s->len : 0;
        }
    }
  return any;
}

static void
script_foreach_step (Script *s,
                     void  (*func) (Step *, gpointer),
                     gpointer data)
{
  for (guint i = 0; i < s->main->len; i++)
    func (&g_array_index (s->main, Step, i), data);
  for (guint i = 0; i < s->tail->len; i++)
    func (&g_array_index (s->tail, Step, i), data);
}

static void
renumber_chars_cb (Step     *s,
                   gpointer  data)
{
  guint *next = data;

  for (guint i = 0; i < s->n_chars; i++)
    s->chars[i] = (*next)++;
}

static void
mark_peers_cb (Step     *s,
               gpointer  data)
{
  gboolean *used = data;

  used[s->at] = TRUE;
  if (s->kind == STEP_SYNC || s->kind == STEP_SYNC_MANY)
    used[s->with] = TRUE;
}

static void
renumber_peers_cb (Step     *s,
                   gpointer  data)
{
  const guint *map = data;

  s->at = map[s->at];
  if (s->kind == STEP_SYNC || s->kind == STEP_SYNC_MANY)
    s->with = map[s->with];
}

static void
plain_sync_cb (Step     *s,
               gpointer  data)
{
  if (s->kind == STEP_SYNC_MANY)
    s->kind = STEP_SYNC;
}

/* Rewrites that make a scenario easier to read, each kept only if the
 * run still fails the same way. */
static void
shrink_presentation (Shrink *sh)
{
  g_autoptr(Script) chars = script_copy (sh->best->script);
  g_autoptr(Script) peers = NULL;
  g_autoptr(Script) ids = NULL;
  g_autoptr(Script) plain = NULL;
  g_autoptr(Script) readable = NULL;
  gboolean used[MAX_PEERS] = { FALSE };
  guint map[MAX_PEERS];
  guint n = 0;
  guint next = 0;

  script_foreach_step (chars, renumber_chars_cb, &next);
  shrink_try (sh, chars);

  peers = script_copy (sh->best->script);
  script_foreach_step (peers, mark_peers_cb, used);
  for (guint p = 0; p < peers->n; p++)
    if (used[p])
      {
        peers->ids[n] = peers->ids[p];
        map[p] = n++;
      }
  if (n < peers->n && n > 0)
    {
      script_foreach_step (peers, renumber_peers_cb, map);
      peers->n = n;
      shrink_try (sh, peers);
    }

  plain = script_copy (sh->best->script);
  script_foreach_step (plain, plain_sync_cb, NULL);
  shrink_try (sh, plain);

  ids = script_copy (sh->best->script);
  for (guint p = 0; p < ids->n; p++)
    ids->ids[p] = 2 + p;
  shrink_try (sh, ids);

  if (sh->best->script->map == MAP_PUA)
    {
      readable = script_copy (sh->best->script);
      readable->map = MAP_READABLE;
      shrink_try (sh, readable);
    }
}

static void
shrink (Shrink *sh)
{
  guint before = G_MAXUINT;

  while (script_length (sh->best->script) < before && g_get_monotonic_time () < sh->deadline)
    {
      before = script_length (sh->best->script);
      shrink_steps (sh, FALSE);
      shrink_steps (sh, TRUE);
      shrink_texts (sh);
    }
  /* presentation gets its own little budget, so that a slow shrink still
   * ends readable */
  sh->deadline = MAX (sh->deadline, g_get_monotonic_time () + 10 * G_USEC_PER_SEC);
  shrink_presentation (sh);
}

/* ---- scenario files ------------------------------------------------------ */

static void
add_value (JsonBuilder *b,
           guint        value)
{
  g_autoptr(GVariant) v = value_new (value);

  if (g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
    json_builder_add_string_value (b, g_variant_get_string (v, NULL));
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
    json_builder_add_int_value (b, g_variant_get_int64 (v));
  else
    json_builder_add_boolean_value (b, g_variant_get_boolean (v));
}

static void
add_step (JsonBuilder *b,
          const Step  *s,
          CharMap      map,
          GHashTable  *names,
          guint       *counts)
{
  g_autofree char *at = peer_name (s->at);
  static const char * const verbs[] = {
    "ins", "del", "set", "unset", "add", "remove", "receive", "sync", "restart", "sync",
  };

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "at");
  json_builder_add_string_value (b, at);
  json_builder_set_member_name (b, "do");
  json_builder_add_string_value (b, verbs[s->kind]);
  switch (s->kind)
    {
    case STEP_INS:
      {
        g_autofree char *text = chars_to_utf8 (map, s->chars, s->n_chars);

        json_builder_set_member_name (b, "pos");
        json_builder_add_int_value (b, s->pos);
        json_builder_set_member_name (b, "text");
        json_builder_add_string_value (b, text);
      }
      break;
    case STEP_DEL:
      json_builder_set_member_name (b, "pos");
      json_builder_add_int_value (b, s->pos);
      json_builder_set_member_name (b, "len");
      json_builder_add_int_value (b, s->len);
      break;
    case STEP_SET:
      json_builder_set_member_name (b, "field");
      json_builder_add_string_value (b, field_names[s->field]);
      json_builder_set_member_name (b, "value");
      add_value (b, s->value);
      break;
    case STEP_UNSET:
      json_builder_set_member_name (b, "field");
      json_builder_add_string_value (b, field_names[s->field]);
      break;
    case STEP_ADD:
    case STEP_REMOVE:
      json_builder_set_member_name (b, "field");
      json_builder_add_string_value (b, field_names[s->field]);
      json_builder_set_member_name (b, "elem");
      json_builder_add_string_value (b, elems[s->value]);
      break;
    case STEP_RECEIVE:
      json_builder_set_member_name (b, "ops");
      json_builder_begin_array (b);
      json_builder_add_string_value (b, g_hash_table_lookup (names, GUINT_TO_POINTER (s->op)));
      json_builder_end_array (b);
      break;
    case STEP_SYNC:
    case STEP_SYNC_MANY:
      {
        g_autofree char *with = peer_name (s->with);

        json_builder_set_member_name (b, "with");
        json_builder_add_string_value (b, with);
      }
      break;
    case STEP_RESTART:
    default:
      break;
    }
  if (s->kind <= STEP_REMOVE)
    {
      char *name = g_strdup_printf ("%s-%u", at, ++counts[s->at]);

      g_hash_table_insert (names, GUINT_TO_POINTER (s->op), name);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, name);
    }
  json_builder_end_object (b);
}

/* Writes a shrunk failing run as a scenario (scenarios/FORMAT.md). The
 * peers disagree or break a property, so there is no "expect": what went
 * wrong, and every peer's text, are in "about". */
static char *
write_scenario (CaseKind       kind,
                guint64        seed,
                guint          original_length,
                const Outcome *o)
{
  const Script *s = o->script;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GHashTable) names = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_autoptr(GString) about = g_string_new (NULL);
  g_autofree char *check = code_describe (o->code);
  g_autofree char *file = o->code == CODE_OK
    ? g_strdup_printf ("fuzz-%s-%" G_GUINT64_FORMAT ".json", cases[kind].name, seed)
    : g_strdup_printf ("fuzz-%s-%" G_GUINT64_FORMAT "-%s.json", cases[kind].name, seed,
                       o->code >= CODE_SIGNAL ? "crash" : code_names[o->code]);
  const char *dir = g_getenv ("G_TEST_BUILDDIR") ? g_getenv ("G_TEST_BUILDDIR") : g_get_tmp_dir ();
  char *path = g_build_filename (dir, file, NULL);
  CharMap map = o->failed_world == 1 ? MAP_REAL : s->map;
  guint counts[MAX_PEERS] = { 0 };
  g_autoptr(GError) error = NULL;
  gboolean small_ids = TRUE;

  for (guint p = 0; p < s->n; p++)
    small_ids &= s->ids[p] == 2 + p;

  if (o->code == CODE_OK)
    g_string_append_printf (about, "Run %s:%" G_GUINT64_FORMAT " of test-convergence, which passes; "
                            "the expectation is what every peer reached.",
                            cases[kind].name, seed);
  else
    g_string_append_printf (about, "Found by test-convergence, case %s, seed %" G_GUINT64_FORMAT
                            " (replay: --seed %s:%" G_GUINT64_FORMAT "); shrunk from %u to %u steps. "
                            "Failed: %s: %s. ",
                            cases[kind].name, seed, cases[kind].name, seed, original_length,
                            script_length (s), o->code < N_CODES ? code_about[o->code] : check,
                            o->message ? o->message : "");
  if (o->texts->len > 0 && o->code != CODE_OK)
    {
      g_string_append (about, "Texts at the failure:");
      for (guint p = 0; p < o->texts->len; p++)
        g_string_append_printf (about, " p%02u \"%s\";", p, (char *) g_ptr_array_index (o->texts, p));
    }
  if (!small_ids && o->code != CODE_OK)
    {
      g_string_append (about, " Needs these peer ids (in peer order):");
      for (guint p = 0; p < s->n; p++)
        g_string_append_printf (about, " %016" G_GINT64_MODIFIER "x", s->ids[p]);
      g_string_append (about, "; with the ids of a scenario file it passes.");
    }
  if (map == MAP_PUA)
    g_string_append (about, " The text uses unique private-use characters.");
  for (guint i = 0, k = 0; i < script_length (s); i++)
    {
      const Step *step = i < s->main->len ? &g_array_index (s->main, Step, i)
                                          : &g_array_index (s->tail, Step, i - s->main->len);

      if (step->kind == STEP_SYNC_MANY)
        g_string_append_printf (about, "%s%u", k++ ? ", " : " The failing run made these syncs through "
                                "tandem_note_receive_many(), which a scenario cannot say: steps ",
                                i + 1 + (i >= s->main->len && o->reached_tail));
      if (k > 0 && i + 1 == script_length (s))
        g_string_append_c (about, '.');
    }

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, file);
  json_builder_set_member_name (b, "about");
  json_builder_add_string_value (b, about->str);
  json_builder_set_member_name (b, "peers");
  json_builder_begin_array (b);
  for (guint p = 0; p < s->n; p++)
    {
      g_autofree char *name = peer_name (p);

      json_builder_add_string_value (b, name);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "fields");
  json_builder_begin_object (b);
  for (guint f = 0; f < N_FIELDS; f++)
    {
      json_builder_set_member_name (b, field_names[f]);
      json_builder_add_string_value (b, tandem_field_policy_to_string (field_policies[f]));
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "steps");
  json_builder_begin_array (b);
  for (guint i = 0; i < s->main->len; i++)
    add_step (b, &g_array_index (s->main, Step, i), map, names, counts);
  if (o->reached_tail)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "do");
      json_builder_add_string_value (b, "sync-all");
      json_builder_end_object (b);
    }
  for (guint i = 0; i < s->tail->len; i++)
    add_step (b, &g_array_index (s->tail, Step, i), map, names, counts);
  json_builder_end_array (b);
  if (o->expect != NULL)
    {
      g_autoptr(JsonNode) expect = json_from_string (o->expect, NULL);

      json_builder_set_member_name (b, "expect");
      json_builder_add_value (b, g_steal_pointer (&expect));
    }
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  if (!json_generator_to_file (gen, path, &error))
    g_test_message ("cannot write %s: %s", path, error->message);
  return path;
}

/* Replays run @seed of @kind on its own, shrinks it if it fails, writes the
 * scenario; returns a description of the failure, or NULL if it passes. */
static char *
investigate (CaseKind kind,
             guint64  seed)
{
  g_autoptr(Outcome) first = spawn_run (NULL, kind, seed, FALSE);
  const char *budget = g_getenv ("TANDEM_CONVERGENCE_SHRINK_SECONDS");
  Shrink sh = { 0 };
  g_autofree char *path = NULL;
  g_autofree char *check = NULL;
  g_autofree char *shortened = NULL;
  guint original;
  gint64 start = g_get_monotonic_time ();
  char *result;

  if (first->code == CODE_OK)
    {
      /* TANDEM_CONVERGENCE_DUMP: write the passing run as a scenario with
       * its results, e.g. to check it with `tandem-peer scenario` */
      if (g_getenv ("TANDEM_CONVERGENCE_DUMP"))
        {
          g_autofree char *dump = write_scenario (kind, seed, script_length (first->script), first);

          g_test_message ("wrote %s", dump);
        }
      return NULL;
    }

  original = script_length (first->script);
  check = code_describe (first->code);
  if (first->message == NULL)
    first->message = g_strdup ("");
  shortened = g_utf8_substring (first->message, 0, 300);
  if (g_utf8_strlen (first->message, -1) > 300)
    {
      char *s = g_strconcat (shortened, "…", NULL);

      g_free (shortened);
      shortened = s;
    }
  g_test_message ("case %s seed %" G_GUINT64_FORMAT " fails %s: %s; shrinking %u steps",
                  cases[kind].name, seed, check, shortened, original);
  sh.code = first->code;
  sh.best = g_steal_pointer (&first);
  sh.deadline = start + (budget ? g_ascii_strtoull (budget, NULL, 10) : 120) * G_USEC_PER_SEC;
  shrink (&sh);
  path = write_scenario (kind, seed, original, sh.best);
  result = g_strdup_printf ("case %s seed %" G_GUINT64_FORMAT " (replay with --seed %s:%" G_GUINT64_FORMAT
                            ") fails %s: %s. Shrunk from %u to %u steps (%u attempts, %.1f s): %s",
                            cases[kind].name, seed, cases[kind].name, seed, check, sh.best->message,
                            original, script_length (sh.best->script), sh.attempts,
                            (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC, path);
  outcome_free (sh.best);
  return result;
}

/* ---- the test cases ------------------------------------------------------ */

static guint total_runs = 2000;
static guint64 first_seed = 0;
static gboolean replay_mode = FALSE;
static gint replay_case = -1;       /* -1: every case */
static guint64 replay_seed = 0;

static guint
runs_for_case (CaseKind kind)
{
  return MAX (1, (guint) (total_runs * cases[kind].share + 0.5));
}

/* Runs the case's runs and tells the parent, on @fd, the seed of each
 * before it starts, a failure, or the totals. */
static int
case_child (CaseKind kind,
            guint    runs,
            int      fd)
{
  Stats stats = { 0 };
  g_autoptr(GString) line = g_string_new (NULL);

  for (guint i = 0; i < runs; i++)
    {
      guint64 seed = first_seed + i;
      int code;

      g_string_printf (line, "SEED %" G_GUINT64_FORMAT "\n", seed);
      write_all (fd, line->str, line->len);
      alarm (run_seconds ());      /* a hang is a failure too */
      code = run_generated (kind, seed, -1, &stats);
      if (code != CODE_OK)
        {
          g_string_printf (line, "FAIL %" G_GUINT64_FORMAT " %d\n", seed, code);
          write_all (fd, line->str, line->len);
          return 1;
        }
    }
  g_string_printf (line, "DONE " STATS_FORMAT " runs, " STATS_FORMAT " steps, " STATS_FORMAT " events "
                   "(" STATS_FORMAT " local ops, " STATS_FORMAT " field writes, " STATS_FORMAT " receives, "
                   STATS_FORMAT " of them changing a text, " STATS_FORMAT " syncs, " STATS_FORMAT " restarts); "
                   STATS_FORMAT " multi-char inserts, " STATS_FORMAT " forward and " STATS_FORMAT
                   " backward typing runs, " STATS_FORMAT " runs with foreign characters inside; "
                   "at most " STATS_FORMAT " peers, " STATS_FORMAT " steps, " STATS_FORMAT " characters\n",
                   stats.runs, stats.steps, stats.events, stats.local_ops, stats.field_writes,
                   stats.receives, stats.remote_changes, stats.syncs, stats.restarts, stats.multi_ops,
                   stats.forward_runs, stats.backward_runs, stats.c5_spans, stats.max_peers,
                   stats.max_steps, stats.max_text);
  write_all (fd, line->str, line->len);
  return 0;
}

static void
test_case (gconstpointer data)
{
  CaseKind kind = GPOINTER_TO_UINT (data);
  guint runs = runs_for_case (kind);
  int fds[2];
  pid_t pid;
  int status;
  g_autoptr(GString) data_in = NULL;
  g_auto(GStrv) lines = NULL;
  gint64 start = g_get_monotonic_time ();
  guint64 last_seed = G_MAXUINT64;
  gboolean done = FALSE;
  g_autofree char *description = NULL;

  g_test_message ("case %s (%s): %u runs, seeds %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
                  "; replay one with --seed %s:SEED",
                  cases[kind].name, cases[kind].about, runs, first_seed, first_seed + runs - 1,
                  cases[kind].name);

  /* The runs go in a child, so that a crash is a reported failure. */
  fflush (stdout);
  fflush (stderr);
  g_assert_cmpint (pipe (fds), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      close (fds[0]);
      _exit (case_child (kind, runs, fds[1]));
    }

  /* allocated after the fork, so that the child (under valgrind) does not
   * leave it behind */
  data_in = g_string_new (NULL);
  close (fds[1]);
  for (;;)
    {
      char buf[4096];
      gssize n = read (fds[0], buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      g_string_append_len (data_in, buf, n);
    }
  close (fds[0]);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;

  lines = g_strsplit (data_in->str, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      if (g_str_has_prefix (lines[i], "SEED ") || g_str_has_prefix (lines[i], "FAIL "))
        last_seed = g_ascii_strtoull (lines[i] + 5, NULL, 10);
      else if (g_str_has_prefix (lines[i], "DONE "))
        {
          g_test_message ("case %s: %s in %.1f s", cases[kind].name, lines[i] + 5,
                          (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
          done = TRUE;
        }
    }
  if (done && WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return;
  if (done)
    {
      /* every check passed, but the process did not end well: valgrind's
       * error exit code, say */
      g_test_fail_printf ("case %s: all runs passed, but the child %s %d", cases[kind].name,
                          WIFEXITED (status) ? "exited with" : "died of signal",
                          WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status));
      return;
    }

  if (last_seed == G_MAXUINT64)
    {
      g_test_fail_printf ("case %s: the child failed before its first run", cases[kind].name);
      return;
    }
  g_test_message ("case %s: seed %" G_GUINT64_FORMAT " failed (%s); replaying it alone",
                  cases[kind].name, last_seed,
                  WIFSIGNALED (status) ? g_strsignal (WTERMSIG (status)) : "a check failed");
  description = investigate (kind, last_seed);
  if (description == NULL)
    g_test_fail_printf ("case %s seed %" G_GUINT64_FORMAT " failed among the others, but passes alone: "
                        "state leaks from one run into the next", cases[kind].name, last_seed);
  else
    g_test_fail_printf ("%s", description);
}

static void
test_replay (gconstpointer data)
{
  for (guint k = 0; k < N_CASES; k++)
    {
      g_autofree char *description = NULL;

      if (replay_case >= 0 && (guint) replay_case != k)
        continue;
      g_test_message ("replaying case %s seed %" G_GUINT64_FORMAT, cases[k].name, replay_seed);
      description = investigate (k, replay_seed);
      if (description)
        g_test_fail_printf ("%s", description);
      else
        g_test_message ("case %s seed %" G_GUINT64_FORMAT " passes", cases[k].name, replay_seed);
    }
}

static gboolean
parse_seed (const char *arg)
{
  const char *colon = strchr (arg, ':');
  const char *number = colon ? colon + 1 : arg;
  char *end;

  replay_case = -1;
  if (colon)
    {
      for (guint k = 0; k < N_CASES; k++)
        if (strlen (cases[k].name) == (gsize) (colon - arg) && strncmp (cases[k].name, arg, colon - arg) == 0)
          replay_case = k;
      if (replay_case < 0)
        return FALSE;
    }
  replay_seed = g_ascii_strtoull (number, &end, 10);
  replay_mode = end != number && *end == '\0';
  return replay_mode;
}

int
main (int   argc,
      char *argv[])
{
  const char *env;
  int out = 1;

  /* --seed is ours, not g_test's */
  if ((env = g_getenv ("TANDEM_CONVERGENCE_SEED")) && *env && !parse_seed (env))
    g_error ("TANDEM_CONVERGENCE_SEED: expected SEED or CASE:SEED, not “%s”", env);
  for (int i = 1; i < argc; i++)
    {
      const char *value = NULL;

      if (g_str_equal (argv[i], "--seed") && i + 1 < argc)
        value = argv[++i];
      else if (g_str_has_prefix (argv[i], "--seed="))
        value = argv[i] + strlen ("--seed=");
      else
        {
          argv[out++] = argv[i];
          continue;
        }
      if (!parse_seed (value))
        g_error ("--seed: expected SEED or CASE:SEED, not “%s”", value);
    }
  argv[out] = NULL;
  argc = out;

  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, NULL);

  if ((env = g_getenv ("TANDEM_CONVERGENCE_RUNS")) && *env)
    total_runs = MAX (1, g_ascii_strtoull (env, NULL, 10));
  if ((env = g_getenv ("TANDEM_CONVERGENCE_FIRST_SEED")) && *env)
    first_seed = g_ascii_strtoull (env, NULL, 10);

  if (replay_mode)
    g_test_add_data_func ("/engine/convergence/replay", NULL, test_replay);
  else
    for (guint k = 0; k < N_CASES; k++)
      {
        g_autofree char *path = g_strdup_printf ("/engine/convergence/%s", cases[k].name);

        g_test_add_data_func (path, GUINT_TO_POINTER (k), test_case);
      }
  return g_test_run ();
}
