"""The workshop in a real browser: JupyterLab on a copy of a sample company, driven in headless Chromium.

Needs the Debian `chromium` and `chromium-driver` packages and selenium (.ci/run installs them);
without them every test here is skipped with the reason printed. Each test takes about 20-40 s.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from helpers import paths

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401
except ImportError:  # pragma: no cover - depends on the machine
    selenium = None

if not (CHROMIUM and DRIVER and selenium):
    missing = [name for name, ok in (("chromium", CHROMIUM), ("chromium-driver", DRIVER), ("selenium", selenium))
               if not ok]
    reason = ("browser tests need " + ", ".join(missing) + " (apt-get install -y chromium chromium-driver; "
              "pip install selenium) — .ci/run installs them")
    # a warning as well as the skip: the reason then shows in pytest's default output, not only with -rs
    warnings.warn(reason, pytest.PytestWarning, stacklevel=1)
    pytest.skip(reason, allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

TOKEN = "tierbook-browser-test"
JUPYTER = Path(sys.executable).with_name("jupyter")
WAIT = 60  # seconds any one step may take on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server (the project's own environment) rooted in a temporary folder."""
    root = tmp_path_factory.mktemp("lab")
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(paths.PACKAGE_DIR.parent), JUPYTER_CONFIG_DIR=str(root / ".config"),
               JUPYTER_RUNTIME_DIR=str(root / ".runtime"), TIERBOOK_ROOT=str(paths.PROJECT_ROOT))
    log = (root / "lab.log").open("wb")
    server = subprocess.Popen(
        [str(JUPYTER), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={root}",
         f"--IdentityProvider.token={TOKEN}", "--LabApp.news_url=None", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate", f"--LabApp.workspaces_dir={root / '.workspaces'}", "--ServerApp.terminals_enabled=False",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],  # CI containers run as root
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + WAIT
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.terminate()
                pytest.fail("JupyterLab did not start: " + (root / "lab.log").read_text(errors="replace")[-2000:])
            time.sleep(0.3)
    yield url, root
    server.terminate()
    server.wait(timeout=20)
    log.close()


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000",
                f"--user-data-dir={tmp_path / 'chrome-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _notebook_for(name: str, root: Path, company: Path, **extra) -> str:
    """A copy of a workshop notebook in the lab's folder, its parameters pointing at the copied company."""
    nb = nbformat.read(paths.NOTEBOOKS_DIR / name, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += f"\ncompany_dir = {str(company)!r}\n" + "".join(f"{k} = {v!r}\n" for k, v in extra.items())
    target = root / f"{company.name}-{name}"
    nbformat.write(nb, target)
    return target.name


def _company(root: Path, name: str) -> Path:
    return shutil.copytree(paths.SAMPLE_DIR / "b2b_services", root / name)


def _wait(driver) -> WebDriverWait:
    # the editor and the consensus view redraw on every answer from the kernel: look again
    return WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException])


def _kernel_idle(url: str, notebook: str) -> None:
    """Wait until the notebook's kernel has started and is idle, as the server reports it: "Run All
    Cells" clicked before that opened JupyterLab's "Select Kernel" dialog on a busy machine."""
    deadline = time.time() + WAIT
    state = "no session"
    while time.time() < deadline:
        with urllib.request.urlopen(f"{url}/api/sessions?token={TOKEN}", timeout=5) as answer:
            sessions = json.load(answer)
        kernels = [s.get("kernel") or {} for s in sessions if str(s.get("path", "")).endswith(notebook)]
        state = kernels[0].get("execution_state", "starting") if kernels else "no session"
        if state == "idle":
            return
        time.sleep(0.3)
    pytest.fail(f"the kernel of {notebook} was not idle within {WAIT} s (last state: {state})")


def _open_and_run(driver, url: str, notebook: str, ready: str):
    driver.get(f"{url}/lab/tree/{notebook}?token={TOKEN}&reset")
    wait = _wait(driver)
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")))
    _kernel_idle(url, notebook)
    wait.until(EC.element_to_be_clickable((By.XPATH, "//div[contains(@class,'lm-MenuBar-itemLabel') and text()='Run']"))
               ).click()
    wait.until(EC.element_to_be_clickable((By.XPATH, "//div[contains(@class,'lm-Menu-itemLabel') and "
                                                     "text()='Run All Cells']"))).click()
    # should JupyterLab still ask which kernel to use, its default (the notebook's own kernel) is the one
    dialogs = driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-mod-accept")
    if dialogs:
        dialogs[0].click()
    return wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ready)))


def _workshop(lab, browser, notebook: str, ready: str):
    """A fresh copy of the sample company, the notebook run on it in the browser; the company and the widget.
    When the widget never shows, the failure says what the page and the server showed instead."""
    url, root = lab
    company = _company(root, notebook.split("_")[0] + "-co")
    try:
        return company, _open_and_run(browser, url, _notebook_for(notebook, root, company), ready)
    except TimeoutException:
        page = browser.find_element(By.TAG_NAME, "body").text[-1500:]
        server = (root / "lab.log").read_text(errors="replace")[-1500:]
        pytest.fail(f"{ready} never appeared within {WAIT} s.\n--- page ---\n{page}\n--- lab.log ---\n{server}")


def _wait_for_file(path: Path, check, timeout: float = WAIT):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if path.is_file():
            try:
                last = check(path)
                if last:
                    return last
            except Exception:  # noqa: BLE001 - the file may be mid-replace; try again
                pass
        time.sleep(0.2)
    pytest.fail(f"{path} never held what was placed (last read: {last})")


def test_three_clients_placed_with_clicks_and_keys_reach_the_files(lab, browser):
    company, board = _workshop(lab, browser, "02a_place_clients.ipynb", ".tb-board:not(.tb-consensus)")
    wait = _wait(browser)
    board.find_element(By.CSS_SELECTOR, ".tb-person").send_keys("Anna")
    board.find_element(By.CSS_SELECTOR, ".tb-start").click()
    wait.until(lambda d: "Anna" in board.find_element(By.CSS_SELECTOR, ".tb-who").text)
    ids = [board.find_element(By.CSS_SELECTOR, f'.tb-row[data-i="{i}"] .name small').text for i in range(4)]

    # a click on row 1, then keys: 5 = B2 on row 2, x then undo then 7 = C on row 3, s skips row 4
    board.find_element(By.CSS_SELECTOR, '.tb-row[data-i="0"] .tb-t[data-tier="A1"]').click()
    active = browser.switch_to.active_element
    active.send_keys("5")
    active.send_keys("x")
    _wait_for_file(company / "placement" / "anna.csv", lambda p: len(pd.read_csv(p)) == 3)
    # undo moves the cursor back at once: a key pressed before the kernel answers lands on the row taken back
    active.send_keys("u")
    assert board.find_elements(By.CSS_SELECTOR, '.tb-row[data-i="2"].cur')
    active.send_keys("7")
    placed = _wait_for_file(company / "placement" / "anna.csv",
                            lambda p: (lambda f: dict(zip(f.client_id, f.tier)) if len(f) == 3 else None)(
                                pd.read_csv(p, dtype=str)))
    assert placed == {ids[0]: "A1", ids[1]: "B2", ids[2]: "C"}
    # the counts per tier come back from the kernel just after the save
    wait.until(lambda d: all(f"{tier} 1 " in board.find_element(By.CSS_SELECTOR, ".tb-summary").text
                             for tier in ("A1", "B2", "C")))
    assert "unplaced 147 " in board.find_element(By.CSS_SELECTOR, ".tb-summary").text

    # the facilitator writes the decision: the median of the one participant
    consensus = browser.find_element(By.CSS_SELECTOR, ".tb-consensus")
    consensus.find_element(By.CSS_SELECTOR, ".tb-refresh").click()
    wait.until(lambda d: "anna" in d.find_element(By.CSS_SELECTOR, ".tb-consensus .tb-top").text)
    browser.find_element(By.CSS_SELECTOR, ".tb-consensus .tb-write").click()
    decided = _wait_for_file(company / "placement.csv",
                             lambda p: (lambda f: dict(zip(f.client_id, f.tier)) if len(f) == 3 else None)(
                                 pd.read_csv(p, dtype=str)))
    assert decided == placed
    assert len(list((company / "history").glob("placement-*.csv"))) == 1  # the sample's own placement.csv


def test_one_criterion_accepted_in_the_editor_is_saved_to_criteria_yml(lab, browser):
    company, editor = _workshop(lab, browser, "04a_decide_criteria.ipynb", ".tb-editor")
    wait = _wait(browser)
    first = editor.find_element(By.CSS_SELECTOR, 'tr[data-i="0"]')
    wanted_id = first.find_element(By.CSS_SELECTOR, "td small").text
    wanted_rule = first.find_element(By.CSS_SELECTOR, ".tb-rule").get_attribute("value")
    first.find_element(By.CSS_SELECTOR, ".tb-accept").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '.tb-editor tr[data-i="0"].st-accepted'))

    # a misspelt trait is refused at once, with the fix
    # (typed in one go: the editor redraws on every answer from the kernel)
    browser.execute_script("const box = document.querySelector('.tb-editor tr[data-i=\"1\"] .tb-rule');"
                           "box.value = arguments[0]; box.dispatchEvent(new Event('change'))", "headcont >= 50")
    wait.until(lambda d: "headcount" in d.find_element(By.CSS_SELECTOR, ".tb-editor .tb-message").text)

    browser.find_element(By.CSS_SELECTOR, ".tb-editor .tb-save").click()
    saved = _wait_for_file(company / "criteria.yml", lambda p: yaml.safe_load(p.read_text(encoding="utf-8")))
    entries = saved["criteria"]
    assert [e["id"] for e in entries] == [wanted_id]
    assert entries[0]["status"] == "accepted" and entries[0]["rule"] == wanted_rule
    assert json.dumps(entries).count("headcont") == 0
