"""``report.html``: one self-contained page a person reads after a run or a surge.

The verdict, each violation with the operations that prove it, a timeline (coupons issued, fault
windows shaded, answers by class), a latency histogram and the settings, with the charts drawn
by matplotlib and embedded as data URIs so the file can be mailed or archived as is.
"""

from harness.report_html.writer import REPORT_NAME, write_html_report

__all__ = ["REPORT_NAME", "write_html_report"]
