"""Progress in logs and pipes: whole lines, no carriage returns; a short job prints nothing."""

import io

from prompt_recovery import progress


def test_lines_not_bars_when_the_stream_is_not_a_terminal(monkeypatch):
    now = [0.0]
    monkeypatch.setattr("tqdm.std.time", lambda: now[0])  # the clock tqdm gives each bar
    monkeypatch.setattr(progress, "LINE_SECONDS", 25.0)
    out = io.StringIO()
    bar = progress.tqdm(total=6, desc="Predicting", unit="row", file=out, mininterval=0)
    for _ in range(6):
        now[0] += 10.0  # a row every 10 s: a line at 30 s and 60 s, then the last one at close
        bar.update(1)
    bar.close()
    text = out.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 3 and all(line.startswith("Predicting:") for line in lines)
    assert "3/6" in lines[0] and "6/6" in lines[1] and "6/6" in lines[2]


def test_a_short_job_prints_nothing_and_disabled_bars_stay_silent():
    out = io.StringIO()
    bar = progress.tqdm(total=3, desc="Short", file=out)
    bar.update(3)
    bar.close()
    quiet = progress.tqdm(total=3, file=out, disable=True)
    quiet.update(3)
    quiet.close()
    assert out.getvalue() == ""
