//! `wechat-msg`: the command line of the wechat-msg toolkit.
//!
//! Exit codes: 0 success, 1 WeChat answered an error, 2 invalid input or
//! usage, 3 the message was not sent or its delivery is unknown.

// The commands, one module each; they share only the modules below them.
mod batch;
mod diagnose;
mod emulator;
mod endpoints;
mod inbox;
mod listen;
mod push;
mod render;
mod send;
mod templates;

mod credentials;
mod emulated;
mod failure;
mod input;
mod output;
mod push_keys;
mod signal;
mod target;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wechat_msg::Form;

use crate::failure::Failure;
use crate::target::TargetArgs;

/// Typed WeChat Mini Program messages from one spec.
#[derive(Debug, Parser)]
#[command(name = "wechat-msg", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every endpoint: cloud-call name, HTTP method and path, deprecation.
    Endpoints {
        /// Print a JSON array instead of one line per endpoint.
        #[arg(long)]
        json: bool,
    },
    /// Validate a request body and print it in the requested wire form.
    Render {
        /// The endpoint's cloud-call name (`customerServiceMessage.send`).
        api: String,
        /// The form of the input.
        #[arg(long, default_value = "http", value_parser = input::parse_form)]
        from: Form,
        /// The form to print.
        #[arg(long, default_value = "http", value_parser = input::parse_form)]
        to: Form,
        /// The body; standard input when absent or `-`.
        file: Option<String>,
    },
    /// Validate a request body and send it with the client.
    ///
    /// Credentials come from WECHAT_APPID and WECHAT_SECRET (or the flags).
    /// Without credentials and without --base-url, the message goes to an
    /// emulator started in this process. Exit codes: 0 sent (the answer is
    /// printed), 1 WeChat answered an error, 2 invalid input, 3 not sent or
    /// delivery unknown.
    Send {
        /// The endpoint's cloud-call name (`customerServiceMessage.send`).
        api: String,
        /// The form of the input.
        #[arg(long, default_value = "http", value_parser = input::parse_form)]
        from: Form,
        /// The body; standard input when absent or `-`.
        file: Option<String>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Send one request body per line of a JSONL file, resumably.
    ///
    /// Every line is validated first (an invalid line is reported with its
    /// field path, not sent). Each line gets a record in the report:
    /// `{"line": N, "outcome": "sent"|"rejected"|"invalid"|"not_sent"|"delivery_unknown", ...}`,
    /// preceded by `{"line": N, "outcome": "started"}` written durably
    /// before it is sent. Run again with the same report, only the lines
    /// without an outcome (or `not_sent`) are sent; a line started but
    /// unfinished (the process killed) becomes `delivery_unknown`, never
    /// resent. Ctrl-C stops starting lines and lets those in flight finish.
    /// Messages to one user go one at a time. Credentials, --base-url and
    /// the embedded emulator work as for `send`. A summary goes to standard
    /// error.
    ///
    /// One process at a time per report: the run holds an OS lock on it
    /// and a second one refuses (exit 2), naming the holder. Each record
    /// carries a digest of its line: resuming refuses (exit 2) when a line
    /// that started or finished has changed, and sends lines appended since.
    ///
    /// With --journal redis://HOST:PORT/DB, the records live in Redis,
    /// keyed by the input's digest (or --batch NAME), and any number of
    /// processes on any machines share the batch: each line is claimed
    /// atomically, sent once, its outcome recorded. A worker that dies
    /// holding lines loses its lease: those become delivery_unknown, the
    /// lines it never started go to others. --rate limits all workers
    /// together; --report writes the outcomes out at the end; --status
    /// prints the counts without sending; --forget removes the batch. Redis
    /// lost mid-run: no more lines start, exit 3.
    ///
    /// Exit codes, the first that applies: 3 a line not sent, of unknown
    /// delivery, or not reached (interrupted, the journal lost); 2 invalid
    /// input, an invalid line, a changed line, a report in use; 1 WeChat
    /// rejected a line; 0 every line sent.
    SendBatch {
        /// The endpoint's cloud-call name (`subscribeMessage.send`).
        api: String,
        /// The JSONL file: one request body per line.
        file: PathBuf,
        /// The report (JSONL), created, or resumed when it exists; with
        /// --journal, the outcomes written out at the end.
        #[arg(long, required_unless_present = "journal")]
        report: Option<PathBuf>,
        /// A shared journal in Redis (`redis://HOST:PORT/DB`) instead of a
        /// local report: many processes, on many machines, share the batch.
        #[arg(long, value_name = "URL")]
        journal: Option<String>,
        /// The batch's name in the journal; the input's digest by default.
        #[arg(long, value_name = "NAME", requires = "journal")]
        batch: Option<String>,
        /// Print the journal's counts by outcome; send nothing.
        #[arg(long, requires = "journal", conflicts_with = "forget")]
        status: bool,
        /// Remove the batch from the journal (refused while a worker runs).
        #[arg(long, requires = "journal")]
        forget: bool,
        /// Seconds a worker's claim on its lines outlives its last renewal
        /// (renewed every third of it); its unfinished lines then become
        /// delivery_unknown.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600), requires = "journal")]
        lease: u64,
        /// At most this many sends started per second (by all workers
        /// together, with --journal).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        rate: Option<u32>,
        /// At most this many sends in flight.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
        concurrency: u32,
        /// The form of the input lines.
        #[arg(long, default_value = "http", value_parser = input::parse_form)]
        from: Form,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Receive message pushes: a push endpoint on every path.
    ///
    /// Answers WeChat's URL check, verifies and decrypts POSTed pushes in
    /// every mode and both encodings, prints each accepted push as one JSON
    /// line on standard output (WeChat's JSON push form, controls and bidi
    /// marks escaped) and answers `success`. With --aes-key only pushes
    /// signed with msg_signature over Encrypt are accepted; in plaintext
    /// mode a nonce seen with another body is refused. A refused push
    /// prints its reason on standard error. Request heads and bodies must
    /// arrive within 5 s each.
    Listen {
        /// The address to listen on (`127.0.0.1:0` for a free port).
        #[arg(long)]
        listen: SocketAddr,
        /// The push Token configured in the console.
        #[arg(long)]
        token: String,
        /// The EncodingAESKey (compatible and safe modes).
        #[arg(long)]
        aes_key: Option<String>,
        /// The AppID pushes are sealed for (with --aes-key).
        #[arg(long)]
        appid: Option<String>,
        /// A Redis store (`redis://HOST:PORT/DB`) shared by every `listen`
        /// behind one URL: each push is printed by one of them, once, and a
        /// nonce seen by one is known to all.
        #[arg(long)]
        store: Option<String>,
    },
    /// The durable push inbox on Redis (what `listen`-like receivers and
    /// the echo bot append to before answering `success`).
    ///
    /// `stats` prints counts as JSON; `unknown` the pushes whose handler
    /// started and never finished (delivery unknown: never re-run by
    /// itself); `dead` those whose attempts all failed; `retry ID`
    /// re-queues one of them on purpose. Exit codes: 0 done, 2 invalid
    /// input (a bad URL, an unknown id), 3 Redis unreachable.
    Inbox {
        /// The Redis database of the inbox (`redis://HOST:PORT/DB`).
        #[arg(long, global = true)]
        store: Option<String>,
        #[command(subcommand)]
        action: InboxCommand,
    },
    /// Send a push to a developer's server, signed (and with a key,
    /// encrypted) as WeChat does.
    ///
    /// Prints the server's answer; exits 0 when it is `success` or empty
    /// (or a passive reply), 1 when the server refused, 2 on invalid input,
    /// 3 when nothing answered.
    Push {
        /// The developer's push URL.
        url: String,
        /// The push Token configured in the console.
        #[arg(long)]
        token: String,
        /// The EncodingAESKey (safe mode).
        #[arg(long)]
        aes_key: Option<String>,
        /// The AppID pushes are sealed for (with --aes-key).
        #[arg(long)]
        appid: Option<String>,
        /// The body's encoding on the wire.
        #[arg(long, default_value = "json")]
        encoding: wechat_msg::push::body::Encoding,
        /// The push in WeChat's JSON push form; standard input when absent or `-`.
        file: Option<String>,
    },
    /// Print what WeChat recorded for a call, by the rid at the end of its
    /// errmsg (`... rid: 650b8665-65fe50fc-076f7520`): when it was made, how
    /// long it took, its query string (the access_token redacted), request
    /// and response bodies (openApi.getRidInfo; rids are kept 7 days).
    ///
    /// Credentials and target flags as for `send`; the lookup goes over
    /// HTTPS whatever --via says (WeChat has no cloud call for it). Exit
    /// codes: 0 printed, 1 WeChat answered an error (76001 unknown rid,
    /// 76002 malformed, 76003 another account's, 76004 too old), 2 invalid
    /// input, 3 not sent.
    Rid {
        /// The rid.
        rid: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Print the daily quota of one API: its limit, the calls made today and
    /// what remains (openApi.getApiQuota).
    ///
    /// Credentials and target flags as for `send`; over HTTPS whatever
    /// --via says. Exit codes: 0 printed, 1 WeChat answered an error (76021
    /// no API has this path, 76022 not the account's), 2 invalid input, 3
    /// not sent.
    Quota {
        /// The API's path, without host or query (`/cgi-bin/message/custom/send`).
        path: String,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// The account's subscribe templates.
    #[command(subcommand)]
    Templates(TemplatesCommand),
    /// Run the local WeChat emulator in the foreground.
    ///
    /// The first lines of standard output give its base URL, appid, secret
    /// and web UI (`ui: .../_emulator/ui/`). Stops on Ctrl-C or SIGTERM.
    Emulator {
        /// The address to listen on; 127.0.0.1 on a free port by default.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// A TOML configuration file (see the emulator's documentation).
        #[arg(long)]
        config: Option<String>,
        /// A state snapshot (`GET /_emulator/state`'s JSON): loaded at start
        /// when the file exists, saved to it on exit.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
    },
}

/// `wechat-msg templates ...`
#[derive(Debug, Subcommand)]
enum TemplatesCommand {
    /// Print the account's templates (getTemplateList) as a templates file
    /// for `wechat_msg::templates!`.
    ///
    /// Credentials and --base-url as for `send`; without either, the
    /// templates of an emulator started in this process. Each keyword's type
    /// is read from the template's content (`{{thing1.DATA}}` is a thing).
    /// Exit codes: 0 printed, 1 WeChat answered an error, 2 invalid input,
    /// 3 not sent.
    Pull {
        #[command(flatten)]
        target: TargetArgs,
    },
}

/// `wechat-msg inbox ...`
#[derive(Debug, Subcommand)]
enum InboxCommand {
    /// Counts: queued, in progress, retrying, unknown, dead, appended, handled.
    Stats,
    /// The pushes of unknown delivery (started, never finished).
    Unknown,
    /// The pushes parked after their last attempt failed.
    Dead,
    /// Re-queue a dead or unknown push as a first attempt.
    Retry {
        /// Its id, as `unknown` or `dead` print it.
        id: String,
    },
}

/// Logs on standard error, filtered by `RUST_LOG` (warnings by default).
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(|| output::LogWriter)
        .try_init();
}

/// Runs `future` on a runtime of its own.
fn block_on<F: std::future::Future<Output = Result<(), Failure>>>(
    future: F,
) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::not_sent(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(future)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let result = match cli.command {
        Command::Endpoints { json } => endpoints::run(json),
        Command::Render {
            api,
            from,
            to,
            file,
        } => render::run(&api, from, to, file.as_deref()),
        Command::Send {
            api,
            from,
            file,
            target,
        } => block_on(send::run(send::SendArgs {
            api,
            from,
            file,
            target: target.into_target(),
        })),
        Command::SendBatch {
            api,
            file,
            report,
            journal,
            batch,
            status,
            forget,
            lease,
            rate,
            concurrency,
            from,
            target,
        } => block_on(batch::run(batch::BatchArgs {
            api,
            file,
            report,
            journal,
            batch,
            status,
            forget,
            lease: std::time::Duration::from_secs(lease),
            rate,
            concurrency: concurrency as usize,
            from,
            target: target.into_target(),
        })),
        Command::Listen {
            listen,
            token,
            aes_key,
            appid,
            store,
        } => block_on(listen::run(listen::ListenArgs {
            listen,
            token,
            aes_key,
            appid,
            store,
        })),
        Command::Push {
            url,
            token,
            aes_key,
            appid,
            encoding,
            file,
        } => block_on(push::run(push::PushArgs {
            url,
            token,
            aes_key,
            appid,
            encoding,
            file,
        })),
        Command::Rid { rid, target } => block_on(diagnose::rid(rid, target.into_target())),
        Command::Quota { path, target } => block_on(diagnose::quota(path, target.into_target())),
        Command::Inbox { store, action } => match store {
            None => Err(Failure::invalid("inbox needs --store redis://HOST:PORT/DB")),
            Some(store) => block_on(inbox::run(
                &store,
                match action {
                    InboxCommand::Stats => inbox::InboxAction::Stats,
                    InboxCommand::Unknown => inbox::InboxAction::Unknown,
                    InboxCommand::Dead => inbox::InboxAction::Dead,
                    InboxCommand::Retry { id } => inbox::InboxAction::Retry(id),
                },
            )),
        },
        Command::Templates(TemplatesCommand::Pull { target }) => {
            block_on(templates::pull(target.into_target()))
        }
        Command::Emulator {
            listen,
            config,
            state,
        } => block_on(emulator::run(listen, config.as_deref(), state.as_deref())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.exit(),
    }
}
