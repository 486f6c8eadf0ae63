"""The JSON-RPC backend against a local HTTP stub (127.0.0.1) backed by LiteSVM: the same
payout as on the embedded VM, plus error replies that must not reach solders' parser."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from oracle.payout.ledger import CONFIRMED, Ledger
from oracle.payout.litesvm_backend import LiteSvmBackend
from oracle.payout.rpc_backend import RpcBackend
from oracle.payout.solana_writer import SolanaWriter
from oracle.rewards.errors import ChainError
from oracle.rewards.manifest import merkle_root
from pocnet.wire import rewards_pb2


class Cluster:
    """Answers the JSON-RPC methods the writer uses, from a LiteSVM; getSlot advances a slot
    each call (time passing between polls)."""

    def __init__(self, payer: Pubkey) -> None:
        self.vm = LiteSvmBackend(None, payer)
        self.fail: dict[str, Any] = {}  # method -> raw reply to send instead
        self.calls: list[str] = []

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params = request["method"], request.get("params", [])
        self.calls.append(method)
        if method in self.fail:
            return self.fail[method]
        svm = self.vm.svm
        slot = svm.get_clock().slot
        ctx = {"slot": slot}
        if method == "getLatestBlockhash":
            blockhash, last_valid = self.vm.latest_blockhash()
            value = {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid}
            result: Any = {"context": ctx, "value": value}
        elif method == "getBlockHeight":
            result = self.vm.block_height()
        elif method == "getSlot":
            self.vm.advance(1)
            result = svm.get_clock().slot
        elif method == "getMinimumBalanceForRentExemption":
            result = self.vm.rent_exempt(params[0])
        elif method == "getMultipleAccounts":
            values = []
            for key in params[0]:
                acc = svm.get_account(Pubkey.from_string(key))
                values.append(None if acc is None else {
                    "data": [base64.b64encode(bytes(acc.data)).decode(), "base64"],
                    "executable": acc.executable, "lamports": acc.lamports,
                    "owner": str(acc.owner), "rentEpoch": acc.rent_epoch,
                    "space": len(bytes(acc.data)),
                })
            result = {"context": ctx, "value": values}
        elif method == "sendTransaction":
            tx = VersionedTransaction.from_bytes(base64.b64decode(params[0]))
            outcome = svm.send_transaction(tx)
            if isinstance(outcome, FailedTransactionMetadata):
                return {"jsonrpc": "2.0", "id": request["id"], "error": {
                    "code": -32002, "message": f"Transaction simulation failed: {outcome.err()}"}}
            result = str(tx.signatures[0])
        else:
            return {"jsonrpc": "2.0", "id": request["id"],
                    "error": {"code": -32601, "message": "Method not found"}}
        return {"jsonrpc": "2.0", "id": request["id"], "result": result}


@pytest.fixture
def cluster() -> Iterator[tuple[Cluster, str, Keypair]]:
    payer = Keypair.from_seed(bytes([7]) * 32)
    state = Cluster(payer.pubkey())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            reply = state.handle(body)
            data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_port}", payer
    finally:
        server.shutdown()
        server.server_close()


def test_payout_over_json_rpc(cluster, tmp_path) -> None:
    state, url, payer = cluster
    amounts = [(bytes(Keypair.from_seed(bytes([i + 1]) * 32).pubkey()), 10 + i) for i in range(60)]
    manifest = rewards_pb2.EpochManifest(epoch=12, merkle_root=merkle_root(amounts))
    manifest.wallets.extend(
        rewards_pb2.WalletAmount(wallet=w, amount=a) for w, a in sorted(amounts)
    )
    ledger = Ledger(tmp_path / "ledger.db")
    writer = SolanaWriter(ledger, RpcBackend(url, sleep=lambda s: None), payer)
    summary = writer.run(manifest)
    assert summary.batches == 2
    assert all(r.state == CONFIRMED for r in ledger.batches(12))
    for wallet, amount in amounts:
        assert writer.token_balance(Pubkey.from_bytes(wallet)) == amount
    assert {"sendTransaction", "getMultipleAccounts", "getLatestBlockhash"} <= set(state.calls)
    # Running again over RPC sends nothing.
    sent = state.calls.count("sendTransaction")
    writer.run(manifest)
    assert state.calls.count("sendTransaction") == sent


def test_error_reply_is_a_chain_error_not_a_panic(cluster) -> None:
    state, url, _ = cluster
    backend = RpcBackend(url, sleep=lambda s: None)
    state.fail["getLatestBlockhash"] = {
        "jsonrpc": "2.0", "id": 0, "error": {"code": -32005, "message": "Node is behind"}}
    with pytest.raises(ChainError, match="Node is behind"):
        backend.latest_blockhash()
    # A reply with neither result nor error, and a non-JSON-RPC reply.
    state.fail["getBlockHeight"] = {"jsonrpc": "2.0", "id": 0}
    with pytest.raises(ChainError, match="neither result nor error"):
        backend.block_height()
    state.fail["getSlot"] = [1, 2, 3]
    with pytest.raises(ChainError, match="not a JSON-RPC object"):
        backend.recent_slot()


def test_refused_transaction_is_reported(cluster) -> None:
    _, url, _ = cluster
    poor = Keypair.from_seed(bytes([99]) * 32)  # never funded
    backend = RpcBackend(url, sleep=lambda s: None)
    writer = SolanaWriter.__new__(SolanaWriter)
    SolanaWriter.__init__(writer, None, backend, poor)  # type: ignore[arg-type]
    with pytest.raises(ChainError, match="simulation failed"):
        writer.ensure_mint()


def test_unreachable_endpoint_and_bad_url() -> None:
    with pytest.raises(ChainError, match="http"):
        RpcBackend("ftp://example")
    backend = RpcBackend("http://127.0.0.1:9", timeout_s=2)
    with pytest.raises(ChainError, match="unreachable"):
        backend.block_height()


@pytest.mark.parametrize("method,call,result", [
    ("getMultipleAccounts", "accounts", 5),
    ("getBlockHeight", "block_height", "tall"),
    ("getLatestBlockhash", "latest_blockhash", {"context": {"slot": 1}, "value": None}),
])
def test_result_of_the_wrong_shape_is_a_chain_error(cluster, method, call, result) -> None:  # type: ignore[no-untyped-def]
    # solders raises SerdeJSONError (an Exception, not a ValueError) on such a reply; the
    # writer and the CLI only handle ChainError.
    state, url, _ = cluster
    backend = RpcBackend(url, sleep=lambda s: None)
    state.fail[method] = {"jsonrpc": "2.0", "id": 0, "result": result}
    args = ([Pubkey.default()],) if call == "accounts" else ()
    with pytest.raises(ChainError, match=method):
        getattr(backend, call)(*args)
