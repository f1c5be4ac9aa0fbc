"""The `fazhi` command line: parses arguments, calls the library, renders the result.

    fazhi classify --sentences FILE     one JSON object per input line
    fazhi classify REPORT               split the report first; units with kind and offsets
    fazhi score REPORT [--json]         coverage, specificity and score, with the evidence
    fazhi serve [--host H] [--port P]   the web pages and JSON API under gunicorn
    fazhi batch DIR --out OUTDIR        every report of a folder: tables, charts, summary page
    fazhi history prune --older-than DAYS | --keep N   delete old reports from the history
    fazhi users add NAME | token NAME | list           reviewer accounts of the service
    fazhi labels export --db fazhi.db --out data/labels/   reviewers' decisions as labels
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from fazhi.paths import DEFAULT_MODEL_FILE

EXIT_BAD_INPUT = 2
# Every command that opens the service's history database takes it from --db like this.
HISTORY_DB_HELP = "SQLite history file (default: $FAZHI_DB or fazhi.db in the project)"


class CLIError(Exception):
    """A problem to report in one line and exit non-zero."""


def load_model(spec: str | None):
    """The committed model, a model file, or an MLflow model URI (models:/fazhi@champion)."""
    from fazhi.model import ModelError, get_classifier

    try:
        if spec and re.match(r"^(models|runs):/", spec):
            from training.registry import download_classifier  # MLflow only when asked for

            return download_classifier(spec)
        return get_classifier(Path(spec) if spec else DEFAULT_MODEL_FILE)
    except ModelError as exc:
        raise CLIError(str(exc)) from exc
    except Exception as exc:  # registry lookups: unknown model, alias or store
        raise CLIError(f"cannot load model {spec}: {exc}") from exc


def read_sentences(path: Path) -> list[str]:
    """Lines of a UTF-8 file, each a sentence as it is."""
    if not path.is_file():
        raise CLIError(f"no such file: {path}")
    data = path.read_bytes()
    if not data.strip():
        raise CLIError(f"{path} is empty")
    if b"\x00" in data:
        raise CLIError(f"{path} is binary, not a text file with one sentence per line")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CLIError(f"{path} is not UTF-8 text (byte {exc.start} cannot be decoded)") from exc
    # Lines end at "\n" only: str.splitlines would also split at \f, \x85, U+2028 and others
    # that PDF text carries inside a line.
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def read_report_file(path: Path) -> str:
    from fazhi.readers import ReaderError, read_report

    try:
        return read_report(path)
    except ReaderError as exc:
        raise CLIError(f"{path}: {exc.message}") from exc


def _print_jsonl(rows) -> None:
    out = sys.stdout
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


def cmd_classify(args) -> int:
    from fazhi import tokenizer
    from fazhi.classify import classify_report, classify_sentences

    if bool(args.sentences) == bool(args.report):
        raise CLIError("give either --sentences FILE or a REPORT file")
    if args.sentences:
        sentences = read_sentences(Path(args.sentences))
        tokenizer.expect_characters(sum(map(len, sentences)))
        _print_jsonl(classify_sentences(load_model(args.model), sentences))
    else:
        text = read_report_file(Path(args.report))
        tokenizer.expect_characters(len(text))
        _print_jsonl(classify_report(load_model(args.model), text))
    return 0


def render_score(result: dict) -> str:
    """A readable summary of a score (the JSON form is for machines)."""
    lines = [result["title"] or "(无标题)", ""]
    if result["score"] is None:
        lines.append(f"结论 verdict: {result['verdict']} — 不予评分 (no score)")
    else:
        lines += [f"总分 score        {result['score']:5.1f} / 100",
                  f"覆盖度 coverage   {result['coverage']:.2f}",
                  f"具体度 specificity {result['specificity']:.2f}", "",
                  " 句子   具体   覆盖  领域"]
        for area_id, area in result["areas"].items():
            if area["task_area"]:
                lines.append(f"{area['sentences']:>5}{area['concrete']:>7.2f}{area['coverage']:>7.2f}  {area['name']}")
        if result["slogan_heavy_areas"]:
            lines.append("口号偏多 slogan-heavy: " + "、".join(result["areas"][a]["name"] for a in result["slogan_heavy_areas"]))
    for warning in result["warnings"]:
        lines.append(f"! {warning}")
    lines.append(f"model {result['model_version']}")
    return "\n".join(lines)


def cmd_score(args) -> int:
    from fazhi import tokenizer
    from fazhi.scoring import score_report

    text = read_report_file(Path(args.report))
    tokenizer.expect_characters(len(text))
    result = score_report(load_model(args.model), text)
    if args.json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_score(result) + "\n")
    return 0


def cmd_serve(args) -> int:
    from fazhi.model import ModelError
    from fazhi.storage import StoreError
    from service.app import ConfigError
    from service.server import serve  # Flask and gunicorn only when serving

    if args.workers < 1:
        raise CLIError("--workers must be at least 1")
    try:
        serve(host=args.host, port=args.port, workers=args.workers, database=args.db, model_path=args.model)
    except (ModelError, ConfigError, StoreError) as exc:
        raise CLIError(str(exc)) from exc
    return 0


def cmd_batch(args) -> int:
    import sqlite3
    import tempfile
    import time

    from fazhi.batch import DEFAULT_DB_NAME, STATUS_CACHED, STATUS_ERROR, STATUS_SCORED, BatchError, run_batch
    from fazhi.model import ModelError
    from fazhi.reporting import OutputError, check_writable, write_outputs

    if args.workers < 1:
        raise CLIError("--workers must be at least 1")
    out_dir = Path(args.out)
    try:
        check_writable(out_dir)  # before any scoring, not after it
    except OutputError as exc:
        raise CLIError(str(exc)) from exc
    db_path = Path(args.db) if args.db else out_dir / DEFAULT_DB_NAME
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fazhi-batch-") as tmp:
        model_path = Path(args.model) if args.model else DEFAULT_MODEL_FILE
        if args.model and re.match(r"^(models|runs):/", args.model):
            # Worker processes load a model file: fetch an MLflow model once for all of them.
            model_path = load_model(args.model).save(Path(tmp) / "model.joblib")
        try:
            rows = run_batch(args.dir, db_path=db_path, workers=args.workers, manifest=args.manifest,
                             model_path=model_path, exclude=[out_dir], progress=True)
        except (BatchError, ModelError, OSError, sqlite3.Error) as exc:
            raise CLIError(str(exc)) from exc
        except KeyboardInterrupt:
            print(f"fazhi: interrupted; the reports finished so far are kept in {db_path}: "
                  "run the same command again to score the rest", file=sys.stderr)
            return 130
    seconds = time.perf_counter() - started
    try:
        outputs = write_outputs(rows, out_dir)
    except OutputError as exc:
        raise CLIError(f"{exc}; the scores are kept in {db_path}: free the space or choose another "
                       f"--out and run the same command again") from exc
    counts = {status: sum(1 for r in rows if r["status"] == status) for status in (STATUS_SCORED, STATUS_CACHED, STATUS_ERROR)}
    print(f"{len(rows)} reports: {counts[STATUS_SCORED]} scored, {counts[STATUS_CACHED]} cached, "
          f"{counts[STATUS_ERROR]} errors in {seconds:.1f} s ({len(rows) / seconds:.2f} reports/s)")
    for row in rows:
        if row["status"] == STATUS_ERROR:
            print(f"  error {row['path']}: [{row['error_code']}] {row['error_message']}")
    for note in outputs.notes:
        print(f"  note: {note}")
    for path in outputs.paths():
        print(f"wrote {path}")
    print(f"results database {db_path}")
    return 0


def _history_store(db: str | None, *, must_exist: bool = True):
    """The service's history database (--db, else $FAZHI_DB, else the default), opened."""
    from fazhi.paths import DEFAULT_DATABASE_FILE
    from fazhi.storage import ReportStore, StoreError

    path = Path(db or os.environ.get("FAZHI_DB") or DEFAULT_DATABASE_FILE)
    if must_exist and not path.is_file():
        raise CLIError(f"no history database at {path}")
    try:
        return path, ReportStore(path)
    except StoreError as exc:
        raise CLIError(str(exc)) from exc


def cmd_history_prune(args) -> int:
    if args.older_than is None and args.keep is None:
        raise CLIError("say what to prune: --older-than DAYS and/or --keep N")
    if (args.older_than is not None and args.older_than < 0) or (args.keep is not None and args.keep < 0):
        raise CLIError("--older-than and --keep take numbers of at least 0")
    path, store = _history_store(args.db)
    before = store.count()
    deleted = store.prune(older_than_days=args.older_than, keep=args.keep, vacuum=args.vacuum)
    print(f"{path}: deleted {deleted} of {before} reports, {before - deleted} kept (reviewed reports are kept)")
    return 0


# Reviewer names: what a person types in a login form, nothing that needs escaping.
REVIEWER_NAME = re.compile(r"^[\w.\-@\u4e00-\u9fff]{1,64}$")
MIN_PASSWORD_CHARS = 10


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        import getpass

        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise CLIError("the two passwords differ")
    if len(password) < MIN_PASSWORD_CHARS:
        raise CLIError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    return password


def cmd_users(args) -> int:
    path, store = _history_store(args.db, must_exist=args.users_command != "add")  # add may start a new database
    if args.users_command == "list":
        for name in store.reviewers():
            print(name)
        return 0
    if not REVIEWER_NAME.match(args.name):
        raise CLIError("a reviewer name is 1–64 letters, digits, Chinese characters or . - _ @")
    if args.users_command == "add":
        existed = args.name in store.reviewers()
        store.add_reviewer(args.name, _read_password(args.password_stdin))
        print(f"{path}: reviewer {args.name} {'has a new password' if existed else 'added'}")
        return 0
    try:
        token = store.new_token(args.name)
    except KeyError:
        raise CLIError(f"no reviewer {args.name!r} in {path}: add it first (fazhi users add {args.name})") from None
    print(token)
    print(f"the API token of {args.name}, shown once; send it as 'Authorization: Bearer TOKEN'", file=sys.stderr)
    return 0


def cmd_labels_export(args) -> int:
    from fazhi.labels import LabelError
    from fazhi.review import export_labels

    path, store = _history_store(args.db)
    out = Path(args.out)
    documents = Path(args.documents) if args.documents else out.parent / "documents.yaml"
    if not documents.is_file():
        raise CLIError(f"no document list at {documents}: give --documents FILE")
    try:
        summary = export_labels(store, out, documents)
    except LabelError as exc:
        raise CLIError(str(exc)) from exc
    for line in summary.lines():
        print(line)
    for file in summary.files:
        print(f"wrote {file}")
    if summary.files:
        print(f"documents registered in {documents}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fazhi", description="Read 法治政府建设 reports: areas covered, concrete work vs. slogans.")
    commands = parser.add_subparsers(dest="command", required=True)

    classify = commands.add_parser("classify", help="classify sentences or the units of a report (JSON lines)")
    classify.add_argument("report", nargs="?", help="a report file (.txt, .docx, .pdf, .html)")
    classify.add_argument("--sentences", metavar="FILE", help="UTF-8 file, one sentence per line, classified as is")
    classify.add_argument("--model", help=f"model file or MLflow URI (default: {DEFAULT_MODEL_FILE.name} in models/)")
    classify.set_defaults(handler=cmd_classify)

    score = commands.add_parser("score", help="score a report: coverage, specificity, evidence")
    score.add_argument("report", help="a report file (.txt, .docx, .pdf, .html)")
    score.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    score.add_argument("--model", help="model file or MLflow URI (default: the committed model)")
    score.set_defaults(handler=cmd_score)

    serve = commands.add_parser("serve", help="serve the web pages and JSON API (gunicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
    serve.add_argument("--db", help=HISTORY_DB_HELP)
    serve.add_argument("--model", help="model file (default: $FAZHI_MODEL or the committed model)")
    serve.set_defaults(handler=cmd_serve)

    batch = commands.add_parser("batch", help="score every report in a folder: CSV, Excel, charts, HTML summary")
    batch.add_argument("dir", metavar="DIR", help="folder of reports, searched recursively")
    batch.add_argument("--out", metavar="OUTDIR", required=True, help="folder for scores.csv, scores.xlsx, charts, index.html")
    batch.add_argument("--workers", type=int, default=1, help="scoring processes (default: 1, in this process)")
    batch.add_argument("--manifest", metavar="FILE", help="CSV with path,district,year (default: from the folder layout)")
    batch.add_argument("--db", metavar="PATH", help="SQLite results that re-runs reuse (default: OUTDIR/fazhi-batch.db)")
    batch.add_argument("--model", help="model file or MLflow URI (default: the committed model)")
    batch.set_defaults(handler=cmd_batch)

    history = commands.add_parser("history", help="the service's history database")
    history_commands = history.add_subparsers(dest="history_command", required=True)
    prune = history_commands.add_parser("prune", help="delete old reports from the history")
    prune.add_argument("--older-than", type=float, metavar="DAYS", help="delete reports scored more than DAYS ago")
    prune.add_argument("--keep", type=int, metavar="N", help="keep only the newest N reports")
    prune.add_argument("--vacuum", action="store_true", help="then give the freed space back to the disk")
    prune.add_argument("--db", help=HISTORY_DB_HELP)
    prune.set_defaults(handler=cmd_history_prune)

    users = commands.add_parser("users", help="reviewer accounts of the service (who may correct)")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    add = users_commands.add_parser("add", help="add a reviewer, or set a new password (asked for twice)")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    token = users_commands.add_parser("token", help="print a new API token for a reviewer (the old one stops working)")
    token.add_argument("name")
    users_commands.add_parser("list", help="the reviewers' names")
    for sub in users_commands.choices.values():
        sub.add_argument("--db", help=HISTORY_DB_HELP)
    users.set_defaults(handler=cmd_users)

    labels = commands.add_parser("labels", help="labelled data")
    labels_commands = labels.add_subparsers(dest="labels_command", required=True)
    export = labels_commands.add_parser("export", help="write reviewers' decisions as labels (source: review)")
    export.add_argument("--db", help=HISTORY_DB_HELP)
    export.add_argument("--out", default="data/labels", help="labels folder (default: data/labels)")
    export.add_argument("--documents", help="document list to register the reports in (default: OUT/../documents.yaml)")
    export.set_defaults(handler=cmd_labels_export)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    from fazhi.limits import LimitError

    try:
        return args.handler(args)
    except (CLIError, LimitError) as exc:
        print(f"fazhi: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `fazhi classify … | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
