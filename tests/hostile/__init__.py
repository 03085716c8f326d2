"""The hostile corpus: submissions written as a determined student would, to break, fool or escape the grader.

`cases.CASES` holds each case with the points it must get per item and the reason its feedback must give;
`tests/test_hostile.py` grades them all, with honest submissions in the same batch.
"""
