"""kefu 客服绩效: self-hosted performance analytics for Taobao / Tmall / JD customer-service teams."""

__version__ = "0.1.0"
