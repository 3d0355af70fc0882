from __future__ import annotations

import pytest
from maaskit_server.generation.chat_template import DEFAULT_CHAT_TEMPLATE, ChatTemplate
from maaskit_server.generation.errors import ChatTemplateError

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi there"},
]


def test_a_model_template_renders_like_transformers() -> None:
    rendered = ChatTemplate(CHATML).render(MESSAGES)
    assert rendered == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi there<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    without_prompt = ChatTemplate(CHATML).render(MESSAGES, add_generation_prompt=False)
    assert not without_prompt.endswith("assistant\n")


def test_special_tokens_and_helpers_are_available() -> None:
    source = (
        "{{ bos_token }}{% for m in messages %}{{ m['content'] | tojson }}{% endfor %}"
        "{{ eos_token }}"
    )
    template = ChatTemplate(source, {"bos_token": "<s>", "eos_token": "</s>"})
    assert template.render([{"role": "user", "content": "café"}]) == '<s>"café"</s>'


def test_default_template_is_used_when_the_model_has_none() -> None:
    template = ChatTemplate(None)
    assert template.is_default
    assert template.source == DEFAULT_CHAT_TEMPLATE
    assert template.render(MESSAGES) == "System: Be brief.\nUser: Hi there\nAssistant:"


def test_the_sandbox_refuses_unsafe_templates() -> None:
    # A classic escape: walk from a string to object's subclasses (and from there to os).
    escape = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(ChatTemplateError, match=r"unsafe|access"):
        ChatTemplate(escape).render(MESSAGES)


def test_the_immutable_sandbox_refuses_to_mutate_messages() -> None:
    mutate = "{% set _ = messages.append({'role': 'user'}) %}{{ messages | length }}"
    messages = [{"role": "user", "content": "a"}]
    with pytest.raises(ChatTemplateError):
        ChatTemplate(mutate).render(messages)
    assert len(messages) == 1


def test_raise_exception_in_a_template_is_a_request_error() -> None:
    strict = (
        "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first must be user') }}"
        "{% endif %}ok"
    )
    with pytest.raises(ChatTemplateError, match="first must be user"):
        ChatTemplate(strict).render(MESSAGES)
    assert ChatTemplate(strict).render(MESSAGES[1:]) == "ok"


def test_a_template_that_does_not_compile_is_refused_at_load() -> None:
    with pytest.raises(ChatTemplateError, match="does not compile"):
        ChatTemplate("{% for m in messages %}")
