"""What the teaching notebooks (notebooks/*.ipynb) call, so that every cell is a call and a
display: no function, class or loop lives in a notebook (tests/test_notebooks.py checks).

Each module serves one notebook's story and is the public API a student's cells use; the
figures themselves live beside the code they draw (sim/index/figures.py,
sim/feeds/matching/figures.py, sim/population/figures.py, sim/world/figures.py,
decommission/figures.py).
"""
