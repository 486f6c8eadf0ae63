"""A frame's bits: payload bytes <-> symbol values, and soft symbol spectra -> payload.

Transmit order: whiten the payload, append the CRC, split bytes low nibble first, prepend the
explicit header, Hamming-code, interleave block by block, Gray-map. The first block is always
CR 4/8 at reduced rate (SF−2 codewords: the header and the first SF−7 payload nibbles); later
blocks use the frame's code rate, SF − 2·LDRO codewords each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from firmware_bridge.sdr.phy import gray, hamming, header, interleaver
from firmware_bridge.sdr.phy.crc import CRC_BYTES, crc_field
from firmware_bridge.sdr.phy.params import LoraParams
from firmware_bridge.sdr.phy.whitening import whiten

HEADER_BLOCK_CR = 4
HEADER_BLOCK_SYMBOLS = 4 + HEADER_BLOCK_CR
MAX_PAYLOAD = 255


@dataclass(frozen=True, slots=True)
class DecodedPayload:
    payload: bytes
    cr: int
    has_crc: bool
    crc_ok: bool


def _nibbles(data: bytes) -> np.ndarray:
    b = np.frombuffer(data, dtype=np.uint8)
    return np.stack([b & 0xF, b >> 4], axis=1).reshape(-1)


def _bytes(nibbles: np.ndarray) -> bytes:
    pairs = np.asarray(nibbles, dtype=np.uint8).reshape(-1, 2)
    return (pairs[:, 0] | (pairs[:, 1] << 4)).astype(np.uint8).tobytes()


def _block_symbols(nibbles: np.ndarray, cr: int, sf: int, reduced: bool) -> np.ndarray:
    bits = interleaver.interleave(hamming.encode(nibbles, cr))
    return gray.words_to_symbols(interleaver.bits_to_words(bits), sf, reduced)


def encode(payload: bytes, p: LoraParams) -> np.ndarray:
    """Payload -> data symbol values (header block first), explicit header."""
    if not 1 <= len(payload) <= MAX_PAYLOAD:
        raise ValueError(f"payload length {len(payload)} not in 1..{MAX_PAYLOAD}")
    data = whiten(payload) + (crc_field(payload) if p.crc else b"")
    nibbles = np.concatenate(
        [header.build(header.Header(len(payload), p.cr, p.crc)), _nibbles(data)]
    )
    first = p.sf - 2
    head = np.zeros(first, dtype=np.uint8)
    head[: min(first, len(nibbles))] = nibbles[:first]
    symbols = [_block_symbols(head, HEADER_BLOCK_CR, p.sf, reduced=True)]
    rest, per_block = nibbles[first:], p.sf - 2 * p.ldro
    blocks = math.ceil(len(rest) / per_block)
    padded = np.zeros(blocks * per_block, dtype=np.uint8)
    padded[: len(rest)] = rest
    for block in padded.reshape(blocks, per_block):
        symbols.append(_block_symbols(block, p.cr, p.sf, reduced=p.ldro))
    return np.concatenate(symbols)


def symbol_llrs(spectra: np.ndarray, sf: int, reduced: bool, soft: bool) -> np.ndarray:
    """Per-symbol magnitude spectra (S, N) -> LLRs of each word bit (S, bits), LSB first.

    Soft: max-log, the best bin whose word has the bit set against the best without it.
    Hard: ±1 from the strongest bin alone.
    """
    index = np.roll(spectra, -1, axis=1)          # column j holds bin (j + 1) mod N
    if reduced:
        index = index.reshape(len(index), -1, 4).max(axis=2)
    bits = gray.word_index_bits(sf, reduced)      # (M, width)
    if not soft:
        return 2.0 * bits[np.argmax(index, axis=1)] - 1.0
    llrs = np.empty((len(index), bits.shape[1]))
    for r in range(bits.shape[1]):
        llrs[:, r] = index[:, bits[:, r]].max(axis=1) - index[:, ~bits[:, r]].max(axis=1)
    return llrs


def decode_header(
    spectra: np.ndarray, sf: int, soft: bool = True
) -> tuple[header.Header, np.ndarray]:
    """The header block's 8 spectra -> (Header, the payload nibbles it also carries)."""
    llrs = symbol_llrs(spectra[:HEADER_BLOCK_SYMBOLS], sf, True, soft)
    nibbles = hamming.decode(interleaver.deinterleave(llrs), HEADER_BLOCK_CR)
    return header.parse(nibbles), nibbles[header.HEADER_NIBBLES:]


def data_symbols(hdr: header.Header, p: LoraParams) -> int:
    """Symbols the header announces, header block included."""
    return LoraParams(p.sf, p.bw_hz, hdr.cr, hdr.crc).payload_symbols(hdr.length)


def decode_payload(
    spectra: np.ndarray, hdr: header.Header, first: np.ndarray, p: LoraParams, soft: bool = True
) -> DecodedPayload:
    """All data spectra (header block first) -> the dewhitened payload and its CRC verdict."""
    width = 4 + hdr.cr
    body = spectra[HEADER_BLOCK_SYMBOLS:]
    blocks = len(body) // width
    llrs = symbol_llrs(body[: blocks * width], p.sf, p.ldro, soft)
    codewords = interleaver.deinterleave(llrs.reshape(blocks, width, -1))
    body_nibbles = hamming.decode(codewords.reshape(-1, width), hdr.cr)
    stream = np.concatenate([first, body_nibbles])
    need = 2 * (hdr.length + CRC_BYTES * hdr.crc)
    if len(stream) < need:
        raise header.HeaderError("frame ends before the length its header announces")
    data = _bytes(stream[:need])
    payload = whiten(data[: hdr.length])
    crc_ok = (not hdr.crc) or crc_field(payload) == data[hdr.length:]
    return DecodedPayload(payload, hdr.cr, hdr.crc, crc_ok)
