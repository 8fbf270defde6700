"""The embedded store and ingestion: idempotent, isolated, persistent, hybrid."""

from pathlib import Path

import numpy as np
import pytest

from services.retriever.ingest import ingest_path
from services.retriever.store import EmbeddedStore
from shared.embeddings import Embedder, default_embedder
from tests.helpers.pdf import write_pdf


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return default_embedder()


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    root.mkdir()
    (root / "bags.md").write_text("# Baggage\n\nEconomy tickets include one checked bag of up to 23 kg.")
    (root / "pets.md").write_text("# Pets\n\nSmall dogs and cats may travel in the cabin in a carrier.")
    (root / "meals.md").write_text("# Meals\n\nHot meals are served on flights longer than three hours.")
    return root


def test_ingest_is_idempotent_and_tracks_changes(tmp_path: Path, kb: Path, embedder: Embedder) -> None:
    store = EmbeddedStore(tmp_path / "index")
    first = ingest_path(store, embedder, tenant="t1", domain="travel", path=kb)
    assert sorted(first.added) == ["bags.md", "meals.md", "pets.md"] and first.chunks == 3
    again = ingest_path(store, embedder, tenant="t1", domain="travel", path=kb)
    assert again.added == [] and again.updated == [] and len(again.unchanged) == 3
    (kb / "meals.md").write_text("# Meals\n\nMeals are served on every flight.")
    (kb / "pets.md").unlink()
    changed = ingest_path(store, embedder, tenant="t1", domain="travel", path=kb, prune=True)
    assert changed.updated == ["meals.md"] and changed.removed == ["pets.md"] and changed.chunks == 2


def test_pdfs_are_ingested_and_unreadable_files_skipped_with_the_reason(
    tmp_path: Path, kb: Path, embedder: Embedder
) -> None:
    write_pdf(kb / "lounges.pdf", [["Gold members may use airport lounges with one guest."]], title="Lounges")
    (kb / "scan.pdf").write_bytes(b"%PDF-1.4\nnot really a PDF")
    store = EmbeddedStore(tmp_path / "index")
    report = ingest_path(store, embedder, tenant="t1", domain="travel", path=kb)
    assert sorted(report.added) == ["bags.md", "lounges.pdf", "meals.md", "pets.md"]
    assert list(report.skipped) == ["scan.pdf"] and "not a readable PDF" in report.skipped["scan.pdf"]
    assert "1 skipped (no text read)" in report.summary()
    q = "can I bring a guest to the lounge"
    hit = store.search("t1", "travel", q, embedder.encode_one(q), k=1)[0]
    assert hit.doc_id == "lounges.pdf" and hit.title == "Lounges"
    # a copy that was indexed before and is unreadable now stays, even when pruning
    (kb / "lounges.pdf").write_bytes(b"%PDF-1.4\ntruncated")
    again = ingest_path(store, embedder, tenant="t1", domain="travel", path=kb, prune=True)
    assert again.removed == [] and set(again.skipped) == {"lounges.pdf", "scan.pdf"}
    assert "lounges.pdf" in store.document_hashes("t1", "travel")


def test_search_finds_the_right_passage_and_persists(tmp_path: Path, kb: Path, embedder: Embedder) -> None:
    store = EmbeddedStore(tmp_path / "index")
    ingest_path(store, embedder, tenant="t1", domain="travel", path=kb)
    q = "how many kg can my checked bag weigh"
    hits = store.search("t1", "travel", q, embedder.encode_one(q), k=2)
    assert hits[0].doc_id == "bags.md" and hits[0].title == "Baggage"
    reopened = EmbeddedStore(tmp_path / "index")
    assert reopened.search("t1", "travel", q, embedder.encode_one(q), k=1)[0].doc_id == "bags.md"


def test_tenants_and_domains_are_isolated(tmp_path: Path, kb: Path, embedder: Embedder) -> None:
    store = EmbeddedStore(tmp_path / "index")
    ingest_path(store, embedder, tenant="t1", domain="travel", path=kb)
    vec = embedder.encode_one("checked bag")
    assert store.search("t2", "travel", "checked bag", vec, k=3) == []
    assert store.search("t1", "media", "checked bag", vec, k=3) == []
    with pytest.raises(ValueError, match="invalid"):
        store.search("../t1", "travel", "x", vec, k=1)


def test_delete_document(tmp_path: Path, kb: Path, embedder: Embedder) -> None:
    store = EmbeddedStore(tmp_path / "index")
    ingest_path(store, embedder, tenant="t1", domain="travel", path=kb)
    assert store.delete_document("t1", "travel", "bags.md") == 1
    assert "bags.md" not in store.document_hashes("t1", "travel")
    hits = store.search("t1", "travel", "checked bag", embedder.encode_one("checked bag"), k=5)
    assert all(h.doc_id != "bags.md" for h in hits)


def test_a_running_store_sees_what_another_process_ingested_or_deleted(
    tmp_path: Path, kb: Path, embedder: Embedder
) -> None:
    """The retriever serves `accel ingest` / `accel forget` changes without a restart."""
    serving = EmbeddedStore(tmp_path / "index")
    q = "how many kg can my checked bag weigh"
    assert serving.search("t1", "travel", q, embedder.encode_one(q), k=1) == []
    operator = EmbeddedStore(tmp_path / "index")  # another process, same folder
    ingest_path(operator, embedder, tenant="t1", domain="travel", path=kb)
    assert serving.search("t1", "travel", q, embedder.encode_one(q), k=1)[0].doc_id == "bags.md"
    operator.delete_document("t1", "travel", "bags.md")
    assert all(h.doc_id != "bags.md" for h in serving.search("t1", "travel", q, embedder.encode_one(q), k=5))
    assert "bags.md" not in serving.document_hashes("t1", "travel")


def test_embeddings_are_normalised_and_semantic(embedder: Embedder) -> None:
    v = embedder.encode(["baggage allowance", "how much luggage can I check", "football offside rule"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_metadata_filter_restricts_search_to_given_documents(
    tmp_path: Path, kb: Path, embedder: Embedder
) -> None:
    store = EmbeddedStore(tmp_path / "index")
    ingest_path(store, embedder, tenant="t1", domain="travel", path=kb)
    q = "how many kg can my checked bag weigh"
    vec = embedder.encode_one(q)
    hits = store.search("t1", "travel", q, vec, k=5, doc_ids=["pets.md", "meals.md"])
    assert {h.doc_id for h in hits} == {"pets.md", "meals.md"}
    assert store.search("t1", "travel", q, vec, k=5, doc_ids=["nope.md"]) == []


def test_bm25_postings_give_the_textbook_okapi_scores() -> None:
    """The postings hold each term's whole weight per chunk; summed over the query's distinct terms
    they are Okapi BM25 (k1 1.2, b 0.75) as written out here, and 0 where no query term occurs."""
    import math
    from collections import Counter

    from services.retriever.store import _Collection, tokenize
    from shared.documents import Chunk

    texts = ["checked bag fees and bag sizes", "cabin bag rules", "hot meals on long flights", "pets"]
    col = _Collection(chunks=[Chunk(f"d{i}", "", 0, t, "") for i, t in enumerate(texts)])
    tfs = [Counter(tokenize(f" {t}")) for t in texts]
    avg = sum(sum(tf.values()) for tf in tfs) / len(tfs)
    query = "bag fees for a bag in the cabin"

    def okapi(tf: Counter[str]) -> float:
        total = 0.0
        for term in set(tokenize(query)):
            df = sum(term in other for other in tfs)
            if tf[term]:
                idf = math.log(1 + (len(tfs) - df + 0.5) / (df + 0.5))
                norm = 1.2 * (1 - 0.75 + 0.75 * sum(tf.values()) / avg)
                total += idf * tf[term] * 2.2 / (tf[term] + norm)
        return total

    assert col.bm25(query) == pytest.approx([okapi(tf) for tf in tfs], rel=1e-5)
    assert col.bm25(query)[2:].tolist() == [0.0, 0.0]


def test_bm25_matches_a_word_in_another_form() -> None:
    """ "Why does my video buffer?" found no page: BM25 took "buffer" and "Buffering or low
    quality" for different terms, and the troubleshooting page, with its error codes, embeds far
    from the question."""
    from services.retriever.store import _Collection
    from shared.documents import Chunk

    texts = ["Buffering or low quality: restart your router", "Video quality adjusts to your connection"]
    col = _Collection(chunks=[Chunk(f"d{i}", "", 0, t, "") for i, t in enumerate(texts)])
    scores = col.bm25("Why does my video buffer?")
    assert scores[0] > 0 and scores[1] > 0  # "buffer" in the one, "video" in the other
    assert col.bm25("restarted routers").tolist()[1] == 0.0 and col.bm25("restarted routers")[0] > 0
