from django import template

from ....services.plain import month_text, name_words

register = template.Library()
register.filter("name_words", name_words)
register.filter("month_text", month_text)
