"""How people type rooms and plates, read one way everywhere: desk search, gate checks, the register
import, the chain parser and every vehicle stored. Pure."""
import re

#: Full-width digits, letters, hyphen and space folded to ASCII (phones and IMEs type them).
_FULLWIDTH = {0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF21 + i: 0x41 + i for i in range(26)} \
    | {0xFF41 + i: 0x61 + i for i in range(26)} | {0xFF0D: 0x2D, 0x3000: 0x20}
#: A room: building, a separator people use (栋, 幢, 号楼, -, a space), the room number, maybe 室 or 号.
ROOM = re.compile(r"^\s*([0-9A-Za-z]{1,4}?)\s*(?:栋|幢|号楼|-|—|－|#|/|\s)\s*(\d{1,5})\s*(?:室|号)?\s*$")
#: A mainland plate starts with a province's character and a letter: 赣K12345, 鄂A·D1234.
PLATE = re.compile(r"^[\u4e00-\u9fff][A-Za-z]")


def fold(text):
    """Fold full-width digits and letters to ASCII and trim."""
    return text.translate(_FULLWIDTH).strip()


def room_label(text):
    """``20-1702``, ``20栋1702``, ``20号楼1702室``, ``20 1702`` (full-width too) → ``20-1702``; None if not a room."""
    m = ROOM.match(fold(text))
    return f"{m.group(1).upper()}-{m.group(2)}" if m else None


def room_label_of(building, room):
    """The label of a room given as its building and room number, as the register lists them."""
    return f"{fold(str(building)).upper()}-{fold(str(room))}"


def normalise_plate(plate):
    """One spelling of a plate: upper case, no spaces, dots, middle dots or dashes: ``赣k·12345`` → ``赣K12345``."""
    return re.sub(r"[\s·•.\-－]", "", fold(plate)).upper()


def looks_like_plate(text):
    """True when what was typed starts like a plate (a province's character, then a letter)."""
    return bool(PLATE.match(fold(text)))


def room_order(label):
    """A sort key putting room labels in the order doors go: ``20-101`` before ``20-1001``, ``2-`` before ``10-``."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", label) if part]
