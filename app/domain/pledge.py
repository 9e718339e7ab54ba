"""The words of the circulars that an officer and a head put their names to, in one place.

The request form shows them, the memo prints them, and the decision records that they were
confirmed. The pledge cites the Official Information Act B.E. 2540 as the circular's form does;
the PDPA is named beside it, never in its place.
"""

PLEDGE = {
    "th": (
        "ข้าพเจ้าขอรับรองว่าจะนำข้อมูลที่ได้รับไปใช้เพื่อประโยชน์ในภารกิจหลักของสำนักงานตำรวจแห่งชาติเท่านั้น "
        "โดยใช้เท่าที่จำเป็นและภายในขอบเขตอำนาจหน้าที่ของข้าพเจ้า ตามพระราชบัญญัติข้อมูลข่าวสารของราชการ พ.ศ. 2540 "
        "จะไม่เปิดเผยรหัสผ่านหรือยินยอมให้ผู้อื่นใช้สิทธิ์ของข้าพเจ้า และยอมรับผิดชอบต่อการสืบค้นทุกครั้งที่กระทำด้วยบัญชีของข้าพเจ้า "
        "หากฝ่าฝืน ข้าพเจ้ายินยอมรับผิดทั้งทางวินัย ทางแพ่ง และทางอาญา "
        "รวมทั้งตามพระราชบัญญัติคุ้มครองข้อมูลส่วนบุคคล พ.ศ. 2562"
    ),
    "en": (
        "I undertake to use the data obtained only for the core mission of the Royal Thai Police, "
        "only as far as needed and within my authority, under the Official Information Act B.E. 2540 "
        "(1997); not to disclose my password or let anyone else use my rights; and to answer for every "
        "search made with my account. For any breach I accept disciplinary, civil and criminal liability, "
        "including under the Personal Data Protection Act B.E. 2562 (2019)."
    ),
}

# What the certifying head confirms; the certification in Sitthi stands for the signature.
ATTESTATION = {
    "th": (
        "ข้าพเจ้าขอรับรองว่าผู้ขอปฏิบัติหน้าที่ตามที่ระบุไว้จริง มีความเหมาะสมที่จะได้รับสิทธิ์ตามคำขอนี้ "
        "และข้าพเจ้าจะกำกับดูแลการใช้สิทธิ์ดังกล่าว"
    ),
    "en": (
        "I certify that the officer performs the duty stated, is fit to hold the rights asked for, "
        "and that I will supervise their use."
    ),
}


def in_language(text: dict[str, str], language: str | None) -> str:
    return text["en"] if language == "en" else text["th"]
