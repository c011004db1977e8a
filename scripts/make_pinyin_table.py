"""Regenerate menwei/gate/data/pinyin.tsv: toneless readings of the 6,763 GB2312 characters.

Run by a developer (needs `pip install pypinyin`), not at install time: the desk ships this 70 KB
table instead of pypinyin's dictionaries, which would add ~50 MB to every gate node's memory.
"""
import pathlib
import unicodedata

from pypinyin.pinyin_dict import pinyin_dict


def toneless(reading):
    """Strip tone marks: ``zhāng`` → ``zhang`` (ü stays as v, as typed on keyboards)."""
    out = "".join(c for c in unicodedata.normalize("NFD", reading) if unicodedata.category(c) != "Mn")
    return out.replace("ü", "v").replace("u\u0308", "v")


def main():
    lines = []
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                ch = bytes((hi, lo)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            readings = pinyin_dict.get(ord(ch))
            if readings:
                seen = []
                for r in readings.split(","):
                    t = toneless(r)
                    if t not in seen:
                        seen.append(t)
                lines.append(f"{ch}\t{','.join(seen)}")
    path = pathlib.Path(__file__).parent.parent / "menwei" / "gate" / "data" / "pinyin.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} characters written to {path}")


if __name__ == "__main__":
    main()
