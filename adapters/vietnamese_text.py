"""Legacy Vietnamese encodings as Python codecs: ``tcvn3`` (ABC) and ``vni`` (VNI Windows).

Old office software still exports text typed in the .VnTime (TCVN3) or VNI-Times fonts, and
Python has no codec for either. Registering them as codecs lets every reader (``open``, the
csv module, incremental decoders that find the byte offset of a bad byte) treat them like
``cp1258``; no package on PyPI keeps such tables maintained, so they are data here.

- **TCVN3** is TCVN 5712:1993's 8-bit VN3 set, the one the ABC fonts use: one byte per letter,
  lower-case toned letters and the seven upper-case base letters Ă Â Ê Ô Ơ Ư Đ in 0xA1-0xFE.
  Upper-case toned letters do not exist in VN3 (the .VnTimeH fonts draw the lower-case codes
  as capitals, which the bytes cannot show), so they decode as lower case. Every other byte
  above 0x7F is undefined and fails to decode: a UTF-8 file mistakenly declared ``tcvn3``
  fails on its first Vietnamese letter instead of loading as nonsense. Each defined byte
  agrees with glibc's ``TCVN5712-1`` (VN1, of which VN3 is the subset; checked by a test).
- **VNI Windows** is composite: a base letter (ASCII, or one byte for ơ ư đ and the i-vowels)
  followed by one byte for its marks (``a`` + 0xF9 is á, 0xF4 + 0xEF is ợ). The table is
  the published one of VNI fonts (as in xvnkb's and Unikey's converters); longest match
  wins, and a mark byte with no letter before it is undefined.

Decoded text is not NFC yet (cp1258 yields combining marks); readers normalise each line.
"""
from __future__ import annotations

import codecs
import unicodedata
import re

# --- TCVN3 (VN3) ----------------------------------------------------------------------

_TCVN3_LETTERS = {  # byte -> letter; groups follow the alphabet: base, then à ả ã á ạ
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
    0xA0: "\u00a0",
}
UNDEFINED = "\ufffe"  # charmap codecs treat U+FFFE as "no character here"
TCVN3_DECODING = "".join(chr(b) if b < 0x80 else _TCVN3_LETTERS.get(b, UNDEFINED) for b in range(256))
_TCVN3_ENCODING = codecs.charmap_build(TCVN3_DECODING)


class _Tcvn3(codecs.Codec):
    def encode(self, text, errors="strict"):
        return codecs.charmap_encode(text, errors, _TCVN3_ENCODING)

    def decode(self, data, errors="strict"):
        return codecs.charmap_decode(data, errors, TCVN3_DECODING)


class _Tcvn3IncrementalDecoder(codecs.IncrementalDecoder):
    def decode(self, data, final=False):
        return codecs.charmap_decode(data, self.errors, TCVN3_DECODING)[0]


class _Tcvn3IncrementalEncoder(codecs.IncrementalEncoder):
    def encode(self, text, final=False):
        return codecs.charmap_encode(text, self.errors, _TCVN3_ENCODING)[0]


# --- VNI Windows ------------------------------------------------------------------------

_TONES = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")  # none, sắc, huyền, hỏi, ngã, nặng
# Per letter: the bytes of its six forms (no tone, sắc, huyền, hỏi, ngã, nặng), lower case;
# upper case is the same with upper-case bytes (VNI puts the capital forms 0x20 below).
_VNI_LOWER = {
    "a": ["a", "aù", "aø", "aû", "aõ", "aï"],
    "â": ["aâ", "aá", "aà", "aå", "aã", "aä"],
    "ă": ["aê", "aé", "aè", "aú", "aü", "aë"],
    "e": ["e", "eù", "eø", "eû", "eõ", "eï"],
    "ê": ["eâ", "eá", "eà", "eå", "eã", "eä"],
    "o": ["o", "où", "oø", "oû", "oõ", "oï"],
    "ô": ["oâ", "oá", "oà", "oå", "oã", "oä"],
    "ơ": ["ô", "ôù", "ôø", "ôû", "ôõ", "ôï"],
    "u": ["u", "uù", "uø", "uû", "uõ", "uï"],
    "ư": ["ö", "öù", "öø", "öû", "öõ", "öï"],
    "i": ["i", "í", "ì", "æ", "ó", "ò"],
    "y": ["y", "yù", "yø", "yû", "yõ", "î"],
}


def _vni_table() -> dict[bytes, str]:
    import unicodedata

    table: dict[bytes, str] = {b"\xf1": "đ", b"\xd1": "Đ"}
    for letter, forms in _VNI_LOWER.items():
        for tone, form in zip(_TONES, forms):
            lower = unicodedata.normalize("NFC", letter + tone)
            for text, seq in ((lower, form), (lower.upper(), form.upper())):
                if not seq.isascii():
                    table[seq.encode("latin-1")] = text
    return table


VNI_TABLE = _vni_table()
_VNI_ENCODING = {v: k for k, v in VNI_TABLE.items()}
_VNI_TOKEN = re.compile(b"|".join(re.escape(k) for k in sorted(VNI_TABLE, key=len, reverse=True)))
_VNI_BASES = frozenset(b"aeouyAEOUY\xf4\xf6\xd4\xd6")  # a byte that a mark byte may follow


def _vni_decode(data: bytes, errors: str, final: bool) -> tuple[str, int]:
    data = bytes(data)
    end = len(data)
    if not final and end and data[-1] in _VNI_BASES:
        end -= 1  # its mark may be in the next block
    out: list[str] = []
    pos = 0
    while pos < end:
        match = _VNI_TOKEN.search(data, pos, end)
        stop = match.start() if match else end
        gap = data[pos:stop]
        if not gap.isascii():
            bad = pos + next(i for i, b in enumerate(gap) if b > 0x7F)
            out.append(gap[:bad - pos].decode("ascii"))
            exc = UnicodeDecodeError("vni", data, bad, bad + 1, "byte is not a letter or mark of VNI Windows")
            replacement, pos = codecs.lookup_error(errors)(exc)
            out.append(replacement)
            continue
        out.append(gap.decode("ascii"))
        if match:
            out.append(VNI_TABLE[match.group()])
            pos = match.end()
        else:
            pos = end
    return "".join(out), end


class _Vni(codecs.Codec):
    def encode(self, text, errors="strict"):
        out = bytearray()
        for i, ch in enumerate(text):
            if ch.isascii():
                out += ch.encode("ascii")
            elif ch in _VNI_ENCODING:
                out += _VNI_ENCODING[ch]
            else:
                exc = UnicodeEncodeError("vni", text, i, i + 1, "no VNI Windows form (is the text NFC?)")
                out += codecs.lookup_error(errors)(exc)[0].encode("ascii")
        return bytes(out), len(text)

    def decode(self, data, errors="strict"):
        return _vni_decode(data, errors, True)


class _VniIncrementalDecoder(codecs.BufferedIncrementalDecoder):
    def _buffer_decode(self, data, errors, final):
        return _vni_decode(data, errors, final)


class _VniIncrementalEncoder(codecs.IncrementalEncoder):
    def encode(self, text, final=False):
        return _Vni().encode(text, self.errors)[0]


def _info(name: str, codec, inc_encoder, inc_decoder) -> codecs.CodecInfo:
    return codecs.CodecInfo(name=name, encode=codec().encode, decode=codec().decode,
                            incrementalencoder=inc_encoder, incrementaldecoder=inc_decoder,
                            streamreader=None, streamwriter=None)


_CODECS = {
    "tcvn3": lambda: _info("tcvn3", _Tcvn3, _Tcvn3IncrementalEncoder, _Tcvn3IncrementalDecoder),
    "vni": lambda: _info("vni", _Vni, _VniIncrementalEncoder, _VniIncrementalDecoder),
}
ALIASES = {"tcvn3": "tcvn3", "tcvn_3": "tcvn3", "abc": "tcvn3", "vn3": "tcvn3",
           "vni": "vni", "vni_windows": "vni", "vni_win": "vni"}


def _search(name: str) -> codecs.CodecInfo | None:
    key = ALIASES.get(name.lower().replace("-", "_").replace(" ", "_"))
    return _CODECS[key]() if key else None


codecs.register(_search)


def cp1258_text(text: str) -> str:
    """Vietnamese as Windows-1258 holds it: base letters with shape marks, tones as combining marks.

    Python's cp1258 codec encodes only the precomposed letters in its table, so text is put in
    this form first (what a Windows application writing cp1258 does); decoding gives it back in NFD.
    """
    out: list[str] = []
    base, marks = "", []
    for ch in unicodedata.normalize("NFD", text) + "\0":
        if base and unicodedata.combining(ch):
            composed = unicodedata.normalize("NFC", base + ch)
            if len(composed) == 1 and composed.encode("cp1258", "ignore"):
                base = composed
            else:
                marks.append(ch)
            continue
        out.append(base + "".join(marks))
        base, marks = ch, []
    return "".join(out)


# --- detection ----------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def sniff_bom(head: bytes) -> str | None:
    """The encoding a byte-order mark proves, or None: the only thing safe to detect from bytes.

    Every 8-bit Vietnamese encoding (cp1258, TCVN3, VNI) decodes almost any byte string
    without error, so a guess among them could load a file as plausible nonsense.
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None
