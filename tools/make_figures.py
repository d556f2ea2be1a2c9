"""Draw the timelines shown in the READMEs (docs/figures/*.png, docs/figures/zh-CN/*.png).   make figures

Each figure is a scenario from a lesson, traced and drawn with asynclab exactly as the
lesson does it.
"""

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import asynclab
    import asynclab.fonts
except ImportError as err:                  # run with a Python other than .venv's: say how to run it
    from check_python import use_the_venv
    use_the_venv(err)

OUT = Path(__file__).resolve().parent.parent / "docs" / "figures"


async def three_requests():
    async with asynclab.trace() as tl:
        await asyncio.gather(asynclab.fetch("A", 0.35), asynclab.fetch("B", 0.25),
                             asynclab.fetch("C", 0.03))
    return tl, dict(title="Three requests started together with gather (lesson 00)")


async def semaphore_gate():
    sem = asyncio.Semaphore(3)

    async def request(i):
        async with sem:
            await asynclab.fetch(f"request {i}", 0.05)

    async with asynclab.trace() as tl:
        await asyncio.gather(*(asyncio.create_task(request(i), name=f"request {i}") for i in range(9)))
    return tl, dict(title="Nine requests under Semaphore(3): at most three at once (lesson 03)", limit=3)


async def blocking_sleep():
    async def polite(name):
        for _ in range(3):
            await asyncio.sleep(0.03)

    async def rude():
        await asyncio.sleep(0.02)
        time.sleep(0.1)                    # blocks the whole loop

    async with asynclab.trace() as tl:
        await asyncio.gather(asyncio.create_task(polite("a"), name="polite A"),
                             asyncio.create_task(polite("b"), name="polite B"),
                             asyncio.create_task(rude(), name="calls time.sleep(0.1)"))
    return tl, dict(title="One time.sleep stalls every task (lesson 07)")


# The figures' titles in README.zh-CN.md.
TITLES_ZH = {
    "Three requests started together with gather (lesson 00)": "用 gather 同时发起三个请求（第 00 课）",
    "Nine requests under Semaphore(3): at most three at once (lesson 03)":
        "Semaphore(3) 之下的九个请求：同一时刻最多三个（第 03 课）",
    "One time.sleep stalls every task (lesson 07)": "一次 time.sleep 让所有任务停摆（第 07 课）",
}

SCENARIOS = {"three-requests": three_requests, "semaphore-gate": semaphore_gate,
             "blocking-sleep": blocking_sleep}


def main():
    # English for README.md, Simplified Chinese for README.zh-CN.md (docs/figures/zh-CN/).
    for language, out in (("en", OUT), ("zh-CN", OUT / "zh-CN")):
        asynclab.use_language(language)
        if language != "en" and asynclab.fonts.chinese_font() is None:
            print("no font with Chinese characters here (apt install fonts-noto-cjk): "
                  "the zh-CN figures were not redrawn")
            continue
        out.mkdir(parents=True, exist_ok=True)
        for name, scenario in SCENARIOS.items():
            tl, options = asyncio.run(scenario())
            if language == "zh-CN":
                options["title"] = TITLES_ZH[options["title"]]
            ax = tl.plot(**options)
            path = out / f"{name}.png"
            ax.figure.savefig(path, dpi=80, metadata={"Software": None})
            plt.close("all")
            print(f"wrote {path.relative_to(OUT.parent.parent)}")


if __name__ == "__main__":
    sys.exit(main())
