"""``accel``: run the embedded stack, ask questions, serve one service, manage domains and contracts."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shared.settings import DEFAULT_DOMAINS_DIR

if TYPE_CHECKING:
    from collections.abc import Callable

    from accel.render import Kind
    from accel.stack import StackInfo
    from contracts import FinalAnswer
    from services.retriever.store import KnowledgeStore
    from services.router.logic import Router

app = typer.Typer(
    help="Accelerated-LLM: many small specialised models behind one router, on NATS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
router_app = typer.Typer(help="Tune and check the router before a deploy.", no_args_is_help=True)
app.add_typer(router_app, name="router")
contracts_app = typer.Typer(
    help="Export or check the JSON Schema / AsyncAPI files in contracts/.", no_args_is_help=True
)
app.add_typer(contracts_app, name="contracts")

out = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="ACCEL_DATA_DIR", help="State folder: index, logs, stack.json.")
]
DomainsDir = Annotated[
    Path, typer.Option("--domains", envvar="ACCEL_DOMAINS_DIR", help="Folder of domain definitions.")
]
NatsUrl = Annotated[
    str | None,
    typer.Option(
        "--nats-url", envvar="ACCEL_NATS_URL", help="NATS URL; defaults to the running `accel up` stack."
    ),
]
DEFAULT_DATA_DIR = Path(".accel")


def _fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as one line (not cut at the terminal's width: paths stay whole in logs)."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def _resolve_nats(nats_url: str | None, data_dir: Path) -> str:
    if nats_url is None:
        return _local_stack(data_dir).nats_url
    _refuses(nats_url)
    return nats_url


def _refuses(nats_url: str) -> None:
    """Fail at once when nothing listens at any of ``nats_url``'s servers: a refused connection is
    definite, and the client's connection attempts would take ~7 s to say so. Anything else (a slow
    or unresolvable host) is left to the client, which says what it met."""
    import socket
    from urllib.parse import urlsplit

    for server in nats_url.split(","):
        parts = urlsplit(server.strip() if "://" in server else f"nats://{server.strip()}")
        try:
            with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=1.0):
                return
        except ConnectionRefusedError:
            continue
        except (OSError, ValueError):
            return
    raise _fail(f"cannot reach NATS at {nats_url} (connection refused): is the stack up (`accel up`)?")


def _local_stack(data_dir: Path) -> StackInfo:
    """The running `accel up` stack of ``data_dir``, or a failure that says what to do."""
    from accel.stack import StackInfo

    info = data_dir / "stack.json"
    if info.exists():
        stack = StackInfo.load(info)
        if not stack.running():  # fail now, not after the client's connection attempts (~7 s)
            raise _fail(
                f"the stack of {data_dir} is not running ({info} is left from `accel up`, pid "
                f"{stack.pid}, which has stopped): start it again with `accel up`, or pass --nats-url"
            )
        return stack
    raise _fail(f"no running stack found ({info} is missing): start one with `accel up`, or pass --nats-url")


@app.command()
def up(
    domains: DomainsDir = DEFAULT_DOMAINS_DIR,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    model_url: Annotated[
        str | None,
        typer.Option(help="Use this OpenAI-compatible/TGI base URL instead of starting llama-server."),
    ] = None,
    replicas: Annotated[
        int, typer.Option(min=1, max=8, help="Worker processes per domain (a NATS queue group).")
    ] = 1,
    threads: Annotated[int, typer.Option(min=1, help="CPU threads for the embedded model server.")] = 2,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for everything to become healthy.")] = 180.0,
) -> None:
    """Start NATS, Valkey, the model server and every service on free 127.0.0.1 ports; Ctrl-C stops all."""
    from accel.stack import Stack, StackError

    stack = Stack(
        data_dir=data_dir,
        domains_dir=domains,
        model_url=model_url,
        threads=threads,
        replicas=replicas,
        progress=lambda m: err.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {m}"),
    )

    def on_term(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM (docker stop, kill) shuts down like Ctrl-C

    signal.signal(signal.SIGTERM, on_term)

    async def main() -> None:
        t0 = time.perf_counter()
        info = await stack.start(timeout=timeout)
        table = Table(title=f"Accelerated-LLM is up ({time.perf_counter() - t0:.1f}s)", show_header=False)
        table.add_row("NATS", info.nats_url)
        table.add_row("Redis (valkey)", info.redis_url)
        table.add_row("Model", info.model_url or "-")
        table.add_row("Domains", ", ".join(info.domains))
        table.add_row("Logs", str(Path(info.data_dir) / "logs"))
        out.print(table)
        out.print('Try: [bold]accel ask "What is the checked baggage allowance on an economy ticket?"[/]')
        out.print("Press Ctrl-C to stop everything.")
        await stack.supervise()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        err.print("stopping…")
    except StackError as exc:
        raise _fail(str(exc)) from None
    finally:
        stack.stop()
    err.print("stopped; nothing left running")


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help="The question.")],
    nats_url: NatsUrl = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    conversation: Annotated[
        str | None,
        typer.Option(
            "--conversation", "-c", help="Conversation id to continue (default: a new conversation)."
        ),
    ] = None,
    tenant: Annotated[str, typer.Option(help="Tenant id.")] = "default",
    timeout: Annotated[
        float, typer.Option(help="Seconds the system has to answer (the query's deadline).")
    ] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the final answer as JSON.")] = False,
) -> None:
    """Send a query as a backend would (NATS) and print the streamed answer, domains, sources and time
    (and why a domain abstained)."""
    from accel.client import AccelClient, AccelError
    from accel.render import StreamView, streamed_everything
    from contracts import FinalAnswer

    url = _resolve_nats(nats_url, data_dir)

    async def main() -> int:
        t0 = time.perf_counter()
        async with await AccelClient.connect(url) as client:
            view = StreamView(_terminal_show(""))
            final: FinalAnswer | None = None
            async for event in client.stream(
                text, conversation_id=conversation, tenant_id=tenant, timeout_s=timeout
            ):
                if isinstance(event, FinalAnswer):
                    final = event
                    break
                if not as_json:
                    view.add(event)
            view.finish()
            if view.order and not as_json:
                out.print()
        assert final is not None
        courteous = _courteous(final)
        if as_json:
            out.print_json(final.model_dump_json())
            return 0 if final.status in ("answered", "partial", "abstained") or courteous else 2
        if view.order and streamed_everything(final, view):
            for line in _declined_lines(final):
                out.print(line)
        else:
            out.print(("\n" if view.order else "") + final.text, markup=False, highlight=False)
        domains = ", ".join(p.domain for p in final.parts) or "-"
        out.print(
            f"\n[bold]status[/] {final.status}   [bold]domains[/] {domains}   "
            f"[bold]time[/] {time.perf_counter() - t0:.2f}s   [bold]cost[/] {final.cost:.6f}"
        )
        if final.decision is not None and final.decision.rejected and not courteous:
            out.print(f"[bold]reason[/] {final.decision.reason_code}: {final.decision.reason}")
        if not conversation:  # the router started one: say how to go on with it
            out.print(f"[dim]follow up with: accel ask --conversation {final.conversation_id} '…'[/]")
        for part in final.parts:
            for c in part.citations:
                where = f"{c.doc_id}#{c.chunk}, score {c.score:.2f}"
                out.print(f"  [{c.ref}] {part.domain}: {escape(c.title)} ({where})")
        for line in _abstained_lines(final):
            out.print(line)
        for m in final.missing:
            out.print(f"[yellow]missing[/] {m.domain}: {escape(m.reason)}")
        for w in final.warnings:
            out.print(f"[yellow]warning[/] {escape(w)}")
        return 0 if final.status in ("answered", "partial", "abstained") or courteous else 2

    try:
        code = asyncio.run(main())
    except AccelError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code)


@app.command()
def chat(
    nats_url: NatsUrl = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="Conversation id to resume.")
    ] = None,
    tenant: Annotated[str, typer.Option(help="Tenant id.")] = "default",
    timeout: Annotated[float, typer.Option(help="Seconds the system has per answer.")] = 60.0,
) -> None:
    """Interactive conversation: follow-ups use what was said before. /new starts over, /quit ends."""
    import uuid

    from accel.client import AccelClient, AccelError
    from accel.render import StreamView, streamed_everything
    from contracts import FinalAnswer

    url = _resolve_nats(nats_url, data_dir)
    conv = conversation or uuid.uuid4().hex[:12]

    async def main() -> None:
        nonlocal conv
        async with await AccelClient.connect(url) as client:
            out.print(f"conversation [bold]{conv}[/]  (/new starts a new one, /quit or Ctrl-D ends)")
            while True:
                try:
                    text = (await asyncio.to_thread(input, "you> ")).strip()
                except EOFError:
                    return
                if not text:
                    continue
                if text in ("/quit", "/exit"):
                    return
                if text == "/new":
                    conv = uuid.uuid4().hex[:12]
                    out.print(f"conversation [bold]{conv}[/]")
                    continue
                view = StreamView(_terminal_show(">"))
                try:
                    async for event in client.stream(
                        text, conversation_id=conv, tenant_id=tenant, timeout_s=timeout
                    ):
                        if not isinstance(event, FinalAnswer):
                            view.add(event)
                            continue
                        view.finish()
                        if view.order and streamed_everything(event, view):
                            out.print()
                            for line in _declined_lines(event):
                                out.print(line)
                            for m in event.missing:
                                out.print(f"[yellow]missing[/] {m.domain}: {escape(m.reason)}")
                        else:
                            out.print(
                                ("\n" if view.order else "") + event.text, markup=False, highlight=False
                            )
                        domains = ", ".join(p.domain for p in event.parts) or "-"
                        if not _courteous(event):
                            out.print(f"[dim]{event.status} · {domains} · {event.took_ms / 1000:.2f}s[/]")
                        for line in _abstained_lines(event):
                            out.print(line)
                        for w in event.warnings:
                            out.print(f"[yellow]warning[/] {escape(w)}")
                        break
                except AccelError as exc:
                    err.print(f"[bold red]error:[/] {exc}")

    asyncio.run(main())


class ServiceName(StrEnum):
    router = "router"
    domain = "domain"
    retriever = "retriever"
    aggregator = "aggregator"


@app.command()
def serve(
    service: Annotated[ServiceName, typer.Argument(help="Which service to run in this process.")],
    domain: Annotated[str | None, typer.Option(help="For the domain service: which domain to serve.")] = None,
    nats_url: NatsUrl = None,
) -> None:
    """Run one service against a NATS server (other settings come from ACCEL_* variables)."""
    import os
    import runpy

    if nats_url:
        os.environ["ACCEL_NATS_URL"] = nats_url
    if service is ServiceName.domain:
        if not domain:
            raise _fail("the domain service needs --domain NAME (or ACCEL_DOMAIN)")
        os.environ["ACCEL_DOMAIN"] = domain
    runpy.run_module(f"services.{service.value}", run_name="__main__")


@app.command()
def domains(domains: DomainsDir = DEFAULT_DOMAINS_DIR) -> None:
    """List the configured domains."""
    from shared.documents import find_documents
    from shared.domains import DomainConfigError, load_domains

    try:
        found = load_domains(domains)
    except DomainConfigError as exc:
        raise _fail(str(exc)) from None
    table = Table("domain", "description", "examples", "documents", "endpoint")
    for d in found.values():
        kdir = d.knowledge_dir
        docs = len(find_documents(kdir)) if kdir and kdir.is_dir() else 0
        table.add_row(d.name, d.description, str(len(d.examples)), str(docs), d.generation.endpoint)
    out.print(table)


def _store(data_dir: Path) -> KnowledgeStore:
    """The store the retriever is configured with (ACCEL_STORE; the embedded one under --data-dir)."""
    from services.retriever.settings import RetrieverSettings
    from services.retriever.stores import make_store

    settings = RetrieverSettings()
    if settings.store == "embedded":
        settings = settings.model_copy(update={"index_dir": data_dir / "index"})
    return make_store(settings)


@app.command(
    # one string per paragraph: rich keeps a docstring's line breaks after its first paragraph
    help="Chunk, embed and index documents (idempotent: unchanged files are skipped), with a progress "
    "bar.\n\nWrites to the store the retriever uses (ACCEL_STORE: the embedded index under --data-dir, "
    "or Weaviate). A running retriever serves the changes from its next search on. A file that cannot "
    "be read (a damaged or encrypted PDF, a scan without text) is skipped with the reason; the rest "
    "goes in."
)
def ingest(
    domain: Annotated[str, typer.Argument(help="Domain whose knowledge base receives the documents.")],
    path: Annotated[Path, typer.Argument(help="A file or folder of .md, .txt, .html or .pdf documents.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    tenant: Annotated[str, typer.Option(help="Tenant id.")] = "default",
    prune: Annotated[
        bool, typer.Option(help="Delete documents indexed from PATH that are gone from it.")
    ] = False,
    domains: DomainsDir = DEFAULT_DOMAINS_DIR,
) -> None:
    from services.retriever.ingest import ingest_path
    from shared.domains import DomainConfigError, load_domains
    from shared.embeddings import default_embedder

    try:
        configured = sorted(load_domains(domains))
    except DomainConfigError:
        configured = []  # nothing to check against (the retriever serves any domain's index)
    if configured and domain not in configured:
        err.print(
            f"[yellow]warning:[/] {escape(repr(domain))} is not a domain under {domains} "
            f"({', '.join(configured)}): no domain service searches this index until one is configured "
            "under that name (a typo?)",
            highlight=False,
        )
    try:
        report = ingest_path(
            _store(data_dir),
            default_embedder(),
            tenant=tenant,
            domain=domain,
            path=path,
            prune=prune,
            progress=True,
        )
    except (FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from None
    for reason in report.skipped.values():
        err.print(f"[yellow]skipped:[/] {escape(reason)}", highlight=False)
    out.print(report.summary())


@app.command()
def forget(
    domain: Annotated[str, typer.Argument(help="Domain whose knowledge base holds the document.")],
    doc_id: Annotated[
        str, typer.Argument(help="The document id (its path relative to the ingested folder).")
    ],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    tenant: Annotated[str, typer.Option(help="Tenant id.")] = "default",
) -> None:
    """Delete one document (all its chunks) from a domain's knowledge base."""
    try:
        removed = _store(data_dir).delete_document(tenant, domain, doc_id)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if not removed:
        raise _fail(f"{doc_id!r} is not in the {domain} knowledge base (tenant {tenant})")
    out.print(f"removed {doc_id} ({removed} chunks) from {domain}")


LlmOption = Annotated[
    str,
    typer.Option(
        "--llm",
        help="Router LLM for unsure queries: off, embedded (needs --model-url) or a TGI base URL.",
    ),
]


MaxFalseRejection = Annotated[
    float,
    typer.Option(
        min=0.001,
        max=0.999,
        help="Share of held-out example utterances the out-of-scope guard may reject; it is relaxed "
        "until it rejects no more (raise it for a stricter guard).",
    ),
]


def _router(
    domains: Path, llm: str, model_url: str | None, data_dir: Path, max_false_rejection: float = 0.05
) -> Router:
    from services.router.app import build_router
    from services.router.settings import RouterSettings
    from shared.domains import DomainConfigError

    if llm == "embedded" and not model_url:
        raise _fail("--llm embedded needs --model-url (the llama-server base URL, e.g. from `accel up`)")
    settings = RouterSettings(
        domains_dir=domains,
        router_llm=llm,
        embedded_model_url=model_url or "",
        cache_dir=data_dir / "cache",
        max_false_rejection=max_false_rejection,
        embedding_cache=0,  # evaluation times every decision's own embedding
    )
    err.print(f"[dim]training the router from {domains} (cached embeddings in {data_dir / 'cache'})…[/]")
    t0 = time.perf_counter()
    try:
        router = build_router(settings)
    except DomainConfigError as exc:
        raise _fail(str(exc)) from None
    names = router.classifier.names
    err.print(
        f"[dim]trained on {len(names)} domains ({', '.join(names)}) in {time.perf_counter() - t0:.1f}s[/]"
    )
    return router


@app.command()
def route(
    domains: DomainsDir = DEFAULT_DOMAINS_DIR,
    llm: LlmOption = "off",
    model_url: Annotated[str | None, typer.Option(help="Base URL for --llm embedded.")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    max_false_rejection: MaxFalseRejection = 0.05,
) -> None:
    """Route JSON lines {"id", "text"} from stdin; write one JSON line per query to stdout.

    Each line: id, rejected, reason_code, reason, routes, declined (parts no domain covers), path.
    """
    import json

    router = _router(domains, llm, model_url, data_dir, max_false_rejection)
    if sys.stdin.isatty():
        err.print('reading JSON lines {"id": …, "text": …} from the terminal; Ctrl-D ends', highlight=False)

    async def main() -> None:
        for n, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                qid, text = row.get("id", n), row["text"]
                if not isinstance(text, str):
                    raise TypeError("text must be a string")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                print(json.dumps({"line": n, "error": f"expected {{'id', 'text'}}: {exc}"}), flush=True)
                continue
            outcome = await router.decide(text)
            d = outcome.decision
            print(
                json.dumps(
                    {
                        "id": qid,
                        "rejected": d.rejected,
                        "reason_code": d.reason_code,
                        "reason": d.reason,
                        "routes": [
                            {"domain": r.domain, "sub_query": r.sub_query, "score": r.score}
                            for r in outcome.routes
                        ],
                        "declined": d.declined,
                        "path": d.path,
                        "decision_ms": d.decision_ms,
                    }
                ),
                flush=True,
            )

    asyncio.run(main())


def _terminal_show(mark: str) -> Callable[[Kind, str, str], None]:
    """What ``StreamView`` shows, printed: each domain's text after its name (and ``mark``), one
    domain a line."""
    started = [False]

    def show(kind: Kind, domain: str, text: str) -> None:
        if kind == "header":
            out.print(("\n" if started[0] else "") + f"[bold cyan]{domain}{mark}[/] ", end="")
            started[0] = True
        elif kind == "restart":
            out.print(f"\n[yellow]{domain} worker lost; answer restarted:[/] ", end="")
        elif kind == "revision":  # what it streamed did not answer the question
            out.print(f"\n[yellow]{domain}, revised from its sources:[/] ", end="")
        else:
            out.print(text, end="", markup=False, highlight=False)

    return show


def _courteous(final: FinalAnswer) -> bool:
    """Whether the answer replies to a greeting or thanks (a rejection only in name)."""
    return final.decision is not None and final.decision.reason_code == "courtesy"


def _abstained_lines(final: FinalAnswer) -> list[str]:
    """Why each abstaining domain abstained (its grader's figures), dimmed: for whoever tunes it."""
    return [
        f"[dim]abstained {p.domain}: {escape(p.reason)}[/]"
        for p in final.parts
        if p.status == "abstained" and p.reason
    ]


def _declined_lines(final: FinalAnswer) -> list[str]:
    """The parts of the query no domain covers, one line each (rich markup)."""
    parts = final.decision.declined if final.decision else []
    said = "none of the configured domains covers it"
    return [f"[yellow]not answered[/] {escape(repr(p))}: {said}" for p in parts]


def _calibration_line(router: Router) -> str:
    clf = router.classifier
    cal = clf.calibration
    line = (
        f"calibration (3-fold on {cal.examples} example utterances): cross-validated accuracy "
        f"{cal.cv_accuracy:.1%}, unsure below a margin of {cal.unsure_margin:.2f}; out of scope learned "
        f"from {clf.background_used} background lines ({len(clf.background_set_aside)} set aside as too "
        "close to a domain)"
    )
    if cal.oos_offset < 0:
        line += (
            f"; the background rejected {cal.cv_rejected:.0%} of held-out examples, so the out-of-scope "
            f"score is lowered by {-cal.oos_offset:.2f} (logit)"
        )
    return line


@router_app.command("eval")
def router_eval(
    data: Annotated[
        Path,
        typer.Option(
            "--data", help='Labeled JSON lines {id, text, domains: [...]} ([] or "oos": out of scope).'
        ),
    ],
    domains: DomainsDir = DEFAULT_DOMAINS_DIR,
    llm: LlmOption = "off",
    model_url: Annotated[str | None, typer.Option(help="Base URL for --llm embedded.")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    show_errors: Annotated[int, typer.Option(help="Print this many misrouted queries.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    max_false_rejection: MaxFalseRejection = 0.05,
) -> None:
    """In-scope accuracy, out-of-scope recall/precision, multi-domain exact set, confusion, latency."""
    import json

    from services.router.evaluate import check_labels, evaluate, load_labeled, render

    try:
        records = load_labeled(data)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    router = _router(domains, llm, model_url, data_dir, max_false_rejection)
    try:
        check_labels(records, router.classifier.names)
    except ValueError as exc:
        raise _fail(f"{data}: {exc}") from None
    report = asyncio.run(evaluate(router, records, use_llm=llm != "off", name=f"{data.name} (llm: {llm})"))
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
    else:
        print(render(report))
        print(_calibration_line(router))
    for rec, pred in report.errors[:show_errors]:
        print(f"  gold {rec.label:<10} predicted {pred:<10} {rec.text}")


@contracts_app.command("export")
def contracts_export() -> None:
    """Regenerate contracts/schemas/*.json and contracts/asyncapi/*.json from the models and services."""
    from accel.contracts_export import write_all

    for path in write_all():
        out.print(f"wrote {path}")


@contracts_app.command("check")
def contracts_check() -> None:
    """Fail if the committed schema files differ from what the models generate."""
    from accel.contracts_export import drift

    stale = drift()
    if stale:
        raise _fail("out of date: " + ", ".join(stale) + "; run `accel contracts export` and commit")
    out.print("contracts are up to date")


@app.command()
def status(nats_url: NatsUrl = None, data_dir: DataDir = DEFAULT_DATA_DIR) -> None:
    """Show every service answering NATS service-API pings ($SRV.INFO); for the `accel up` stack,
    also the services that do not answer, Valkey and the model server (exit code 1 if any is down)."""
    from accel.client import AccelClient, AccelError
    from accel.stack import Stack, ping
    from shared.service import service_name

    local = None if nats_url else _local_stack(data_dir)
    url = local.nats_url if local is not None else _resolve_nats(nats_url, data_dir)

    async def up(check: Callable[[], object]) -> bool:
        try:
            return bool(await asyncio.wait_for(check(), 2.0))  # type: ignore[arg-type]
        except Exception:
            return False

    async def main() -> tuple[list[dict[str, object]], dict[str, bool]]:
        async with await AccelClient.connect(url) as client:
            replies = await ping(client.nc, "", wait=0.5)
        servers: dict[str, bool] = {}
        if local is not None:
            servers["valkey"] = await up(Stack.check_redis(local.redis_url))
            if local.model_url:
                servers["model server"] = await up(Stack.check_model(local.model_url))
        return replies, servers

    try:
        replies, servers = asyncio.run(main())
    except AccelError as exc:
        raise _fail(str(exc)) from None
    table = Table("service", "id", "version", "subjects")
    for r in sorted(replies, key=lambda r: str(r.get("name"))):
        meta = r.get("metadata")
        subjects = meta.get("subjects", "") if isinstance(meta, dict) else ""
        table.add_row(str(r.get("name")), str(r.get("id")), str(r.get("version")), str(subjects))
    expected = []
    if local is not None:
        expected = [service_name(s) for s in ("aggregator", "retriever", "router")]
        expected += [service_name("domain", d) for d in local.domains]
    answering = {str(r.get("name")) for r in replies}
    missing = [name for name in expected if name not in answering]
    logs = f"see {Path(local.data_dir) / 'logs'}" if local is not None else ""
    for name in missing:
        table.add_row(name, "[bold red]not answering[/]", "", logs)
    for name, ok in servers.items():
        table.add_row(name, "ok" if ok else "[bold red]down[/]", "", "")
    out.print(table)
    if missing or not all(servers.values()):
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
