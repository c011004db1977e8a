"""Personal data: ID numbers and phones never reach the logs, nor the desk's answers and pages read below."""
import logging

import pytest

from menwei.demo.data import id_check_digit

IDN = "36050219800101123" + id_check_digit("36050219800101123")
PHONE = "13812345678"
VISITOR_ID, VISITOR_PHONE = "360502199001011234", "13900001111"


def test_personal_data_never_reaches_the_logs(gate, caplog):
    caplog.set_level(logging.DEBUG)
    # SQL statement logging (echo) stays on too: parameters are hidden by the engine's hide_parameters.
    for name in ("werkzeug", "menwei", "menwei.sync"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        gate.hub.api("PATCH", f"/rows/residents/{gate.zhang}", json={"id_number": IDN, "phone": PHONE})
        gate.sync()
        answers = [gate.check(id_number=IDN, direction="out", temperature=38.5)]  # a fever: incident and alert
        answers.append(gate.check(direction="in", visitor={"name": "快递员", "id_number": VISITOR_ID,
                                                           "phone": VISITOR_PHONE, "reason": "送快递"}))
        found = gate.east.api("POST", "/gate/search", json={"q": IDN})
        assert found.status_code == 200 and found.get_json()["results"]
        gate.east.api("POST", "/gate/checks", json={"id_number": "360502199901011111", "direction": "in",
                                                    "temperature": 36.5})  # 404
        gate.east.api("POST", "/gate/checks", json={"resident_id": gate.zhang, "direction": "in",
                                                    "temperature": 36.5, "visitor": {"name": "x", "reason": "y",
                                                                                     "phone": VISITOR_PHONE}})
        gate.cluster.close()
        with pytest.raises(Exception):
            gate.east.sync()  # a failed sync logs a warning
        reads = [gate.east.http.get("/"), gate.east.api("GET", f"/rows/residents/{gate.zhang}"),
                 gate.east.api("GET", "/gate/events"), gate.east.api("GET", f"/gate/households/{gate.h1702}"),
                 gate.east.api("GET", "/rows/gate_events"), gate.east.api("GET", "/gate/alerts")]
        assert [r.status_code for r in reads] == [200] * len(reads)
        pages = [r.get_data(as_text=True) for r in reads] + [str(a) for a in answers] + [found.get_data(as_text=True)]
    finally:
        for name in ("werkzeug", "sqlalchemy.engine"):
            logging.getLogger(name).setLevel(logging.WARNING)
    logged = "\n".join(r.getMessage() + " " + str(r.args) for r in caplog.records)
    assert caplog.records, "nothing was captured: the test would prove nothing"
    for secret in (IDN, PHONE, VISITOR_ID, VISITOR_PHONE):
        assert secret not in logged, f"{secret[:4]}… appeared in the logs"
        for page in pages:
            assert secret not in page
